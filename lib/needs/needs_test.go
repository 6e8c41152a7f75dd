package needs

import (
	"errors"
	"strings"
	"testing"
)

func TestSkipped(t *testing.T) {
	for _, tc := range []struct {
		env, what string
		skip      bool
		err       string
	}{
		{"", Fixtures, false, ""},
		{"fixtures", Fixtures, true, ""},
		{" chromium , fixtures ", Fixtures, true, ""},
		{"chromium", Fixtures, false, ""},
		{"fixture", Fixtures, false, `unknown name "fixture"`},
	} {
		t.Setenv(Env, tc.env)
		skip, err := Skipped(tc.what)
		if skip != tc.skip || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s=%q: Skipped(%q) = %v, %v; want %v, %q", Env, tc.env, tc.what, skip, err, tc.skip, tc.err)
		}
	}
}

func TestCondition(t *testing.T) {
	missing := errors.New("no such file")
	t.Setenv(Env, "")
	err := Condition(Fixtures, missing, "put it there")
	if err == nil || !strings.Contains(err.Error(), "put it there") || !strings.Contains(err.Error(), "PLINTH_SKIP=fixtures") {
		t.Errorf("Condition without opt-out = %v, want the provider and the opt-out", err)
	}
	t.Setenv(Env, "fixtures")
	if err := Condition(Fixtures, missing, "put it there"); err != nil {
		t.Errorf("Condition with PLINTH_SKIP=fixtures = %v, want nil", err)
	}
}
