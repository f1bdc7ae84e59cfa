package schema

import "testing"

func TestContainerCategory(t *testing.T) {
	for _, tc := range []struct{ container, want string }{
		{"insights-logs-signinlogs", "signinlogs"},
		{"insights-logs-auditlogs", "auditlogs"},
		{"insights-logs-", "insights-logs-"}, // nothing after the prefix: the name as it is
		{"exports", "exports"},
	} {
		if got := ContainerCategory(tc.container); got != tc.want {
			t.Errorf("ContainerCategory(%q)=%q, want %q", tc.container, got, tc.want)
		}
	}
}
