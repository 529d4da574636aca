package deploy

import (
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

func TestProbe(t *testing.T) {
	_ = kedav1alpha1.ScaledObject{}
	_ = appsv1.Deployment{}
	_ = batchv1.Job{}
	_ = corev1.Service{}
	_ = krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	_ = filesys.MakeFsOnDisk()
	_ = yaml.UnmarshalStrict
}
