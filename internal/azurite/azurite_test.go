package azurite_test

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/entralake/entralake/internal/azurite"
)

func TestStartStop(t *testing.T) {
	var port int
	t.Run("start", func(t *testing.T) {
		s := azurite.Start(t)
		port = s.Port
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err != nil {
			t.Fatalf("dial azurite: %v", err)
		}
		c.Close()
	})
	// The subtest's cleanup stopped it.
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
		c.Close()
		t.Fatalf("azurite still listens on %d after cleanup", port)
	}
}
