package pgtest

import "testing"

func TestWithParam_SetsTheParameterInBothConnectionStringForms(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"postgres://u@h:5432/db", "postgres://u@h:5432/db?search_path=s1"},
		{"postgres://u@h:5432/db?sslmode=disable&search_path=old", "postgres://u@h:5432/db?search_path=s1&sslmode=disable"},
		{"postgresql://u:p%40ss@h/db?sslmode=disable", "postgresql://u:p%40ss@h/db?search_path=s1&sslmode=disable"},
		{"host=h user=u dbname=db ", "host=h user=u dbname=db search_path=s1"},
	} {
		if got := WithParam(c.in, "search_path", "s1"); got != c.want {
			t.Errorf("WithParam(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
