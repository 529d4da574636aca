//go:build !customenv

package detector

// Same OpenCV discovery as gocv's own cgo.go: with the customenv tag the
// caller supplies CGO_CPPFLAGS/CGO_LDFLAGS instead.

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
*/
import "C"
