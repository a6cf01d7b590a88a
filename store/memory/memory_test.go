package memory_test

import (
	"testing"

	"github.com/chainsts/chainsts/store"
	"github.com/chainsts/chainsts/store/memory"
	"github.com/chainsts/chainsts/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return memory.New() })
}

func TestNamedSharesState(t *testing.T) {
	a, b := memory.Named("shared-test"), memory.Named("shared-test")
	if a != b {
		t.Fatal("Named returned different stores for one name")
	}
	if memory.Named("other-test") == a {
		t.Fatal("Named returned the same store for different names")
	}
}
