package imapd

import "os"

func osMkdirTemp() (string, error) { return os.MkdirTemp("", "imapd-bench-") }
