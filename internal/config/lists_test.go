package config

import (
	"slices"
	"testing"

	"github.com/sightline-video/sightline/internal/detector"
)

// The settings are checked against lists of their own: they must be what
// the detector knows.

func TestModelLayoutsAreTheDetectors(t *testing.T) {
	want := []string{string(detector.LayoutYOLOX), string(detector.LayoutYOLOv5), string(detector.LayoutYOLOv8), string(detector.LayoutPicoDet)}
	if !slices.Equal(ModelLayouts, want) {
		t.Errorf("ModelLayouts = %v, want %v", ModelLayouts, want)
	}
}

func TestDetectBackendsAreTheDetectorsRuntimes(t *testing.T) {
	if want := []string{detector.RuntimeONNX, detector.RuntimeOpenCV}; !slices.Equal(DetectBackends, want) {
		t.Errorf("DetectBackends = %v, want %v", DetectBackends, want)
	}
}

func TestGPUProvidersAreTheDetectorsGPUBackends(t *testing.T) {
	if want := []string{detector.BackendCUDA, detector.BackendTensorRT}; !slices.Equal(GPUProviders, want) {
		t.Errorf("GPUProviders = %v, want %v", GPUProviders, want)
	}
}
