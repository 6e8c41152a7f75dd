package diff_test

import (
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

type unstructuredT = unstructured.Unstructured

func itoa(n int) string { return strconv.Itoa(n) }
