package needs

import (
	"errors"
	"fmt"
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

// recorder is a testing.TB that records how Missing ends the test (the
// first call: a real Fatal or Skip would stop there).
type recorder struct {
	testing.TB
	how, msg string
}

func (r *recorder) end(how, msg string) {
	if r.how == "" {
		r.how, r.msg = how, msg
	}
}

func (r *recorder) Helper()                           {}
func (r *recorder) Fatal(args ...any)                 { r.end("fatal", fmt.Sprint(args...)) }
func (r *recorder) Fatalf(format string, args ...any) { r.end("fatal", fmt.Sprintf(format, args...)) }
func (r *recorder) Skipf(format string, args ...any)  { r.end("skip", fmt.Sprintf(format, args...)) }

func TestMissing(t *testing.T) {
	for _, tc := range []struct{ env, how, want string }{
		{"", "fatal", "provide it: make chromium"},
		{"", "fatal", "PLINTH_SKIP=chromium"},
		{"fixtures", "fatal", "provide it: make chromium"},
		{"chromium", "skip", "skipped, as PLINTH_SKIP=chromium asks"},
		{"chromum", "fatal", `unknown name "chromum"`},
	} {
		t.Setenv(Env, tc.env)
		r := &recorder{TB: t}
		Missing(r, Chromium, errors.New("not found"), "make chromium")
		if r.how != tc.how || !strings.Contains(r.msg, tc.want) {
			t.Errorf("%s=%q: Missing ended the test with %s %q, want %s containing %q", Env, tc.env, r.how, r.msg, tc.how, tc.want)
		}
	}
}
