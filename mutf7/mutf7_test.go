package mutf7

import "testing"

func TestEncodeDecode(t *testing.T) {
	for utf8, enc := range map[string]string{
		"INBOX":    "INBOX",
		"a&b":      "a&-b",
		"Entwürfe": "Entw&APw-rfe",
		"日本語":      "&ZeVnLIqe-",
		"x/Ä/&":    "x/&AMQ-/&-",
		"😀":        "&2D3eAA-",
	} {
		if got := Encode(utf8); got != enc {
			t.Errorf("Encode(%q) = %q, want %q", utf8, got, enc)
		}
		if got, err := Decode(enc); err != nil || got != utf8 {
			t.Errorf("Decode(%q) = %q %v", enc, got, err)
		}
	}
	for _, bad := range []string{"&", "&Jjo", "&AGE-", "&Jj!-", "&2D0-"} {
		if _, err := Decode(bad); err == nil {
			t.Errorf("Decode(%q) accepted", bad)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("Entw&APw-rfe")
	f.Add("&ZeVnLIqe-")
	f.Fuzz(func(t *testing.T, s string) {
		dec, err := Decode(s)
		if err != nil {
			return
		}
		// Whatever decodes must encode back to something that decodes
		// to the same name.
		again, err := Decode(Encode(dec))
		if err != nil || again != dec {
			t.Fatalf("round trip of %q: %q %v", dec, again, err)
		}
	})
}
