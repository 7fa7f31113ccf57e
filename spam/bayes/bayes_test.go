package bayes

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"mime/quotedprintable"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func words(s string) []string {
	var out []string
	Words(s, func(w string) { out = append(out, w) })
	return out
}

func TestWords(t *testing.T) {
	for in, want := range map[string][]string{
		"Hello, world!":                  {"Hello", "world"},
		"don't e-mail me: $100 or 3.50.": {"don't", "e-mail", "me", "$100", "or", "3.50"},
		"--x-- 'quoted' (paren)":         {"x", "quoted", "paren"},
		"Grüße aus Köln, 東京":             {"Grüße", "aus", "Köln", "東京"},
		"bad\xffutf8":                    {"bad", "utf8"},
		"a_b a&b 50%off":                 {"a_b", "a&b", "50%off"},
		"":                               nil,
		"...":                            nil,
	} {
		if got := words(in); !slices.Equal(got, want) {
			t.Errorf("Words(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzWords(f *testing.F) {
	for _, s := range []string{"Hello, world", "a-'-b", "\xff\xfe", "x.y.z.", "日本語テキスト", "$$$"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		total := 0
		Words(s, func(w string) {
			if w == "" || !strings.Contains(s, w) {
				t.Fatalf("word %q of %q", w, s)
			}
			for _, r := range []rune{firstRune(w), lastRune(w)} {
				if r == utf8.RuneError || !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '$') {
					t.Fatalf("word %q of %q starts or ends with %q", w, s, r)
				}
			}
			total += len(w)
		})
		if total > len(s) {
			t.Fatal("words overlap")
		}
		Tokens([]byte(s)) // must not panic on any message either
	})
}

func firstRune(s string) rune { r, _ := utf8.DecodeRuneInString(s); return r }
func lastRune(s string) rune  { r, _ := utf8.DecodeLastRuneInString(s); return r }

func TestTokensByPlace(t *testing.T) {
	subject := Tokens([]byte("Subject: cheap pills\r\n\r\nhello\r\n"))
	body := Tokens([]byte("Subject: hello\r\n\r\ncheap pills\r\n"))
	common := 0
	for _, tok := range subject {
		if _, ok := slices.BinarySearch(body, tok); ok {
			common++
		}
	}
	// Only the presence of the Subject field is shared.
	if common != 1 {
		t.Fatalf("%d tokens shared between subject and body words", common)
	}
	// Encoded words and transfer encodings are undone first.
	plain := Tokens([]byte("Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\n\r\nwunderbar angebot\r\n"))
	encoded := Tokens([]byte("Subject: Grüße\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString([]byte("Wunderbar ANGEBOT")) + "\r\n"))
	if !slices.Equal(plain, encoded) {
		t.Fatalf("decoded forms differ:\n%v\n%v", plain, encoded)
	}
	// Sender addresses, URLs and long runs give their own tokens.
	toks := Tokens([]byte("From: Shop <deals@Shop.example>\r\n\r\nsee https://www.shop.example/x and " + strings.Repeat("Z", 300) + "\r\n"))
	tk := &tokenizer{set: make([]uint64, setSize)}
	tk.hash(kindAddr, "deals@shop.example")
	tk.hash(kindAddr, "shop.example")
	tk.hash(kindURL, "www.shop.example")
	tk.hash(kindURL, "shop.example")
	tk.word(kindBody, strings.Repeat("z", 300))
	for _, want := range tk.out {
		if _, ok := slices.BinarySearch(toks, want); !ok {
			t.Errorf("token %x missing", want)
		}
	}
}

// corpus makes messages from a vocabulary, deterministically.
type corpus struct {
	rng *rand.Rand
}

var (
	spamWords = strings.Fields("viagra cheap pills offer winner prize click unsubscribe casino bonus free money crypto investment guaranteed lottery urgent wire transfer limited deal discount pharmacy")
	hamWords  = strings.Fields("meeting tomorrow agenda project review draft thanks regards lunch schedule report budget kids school dinner weekend notes minutes quarterly design patch")
	shared    = strings.Fields("the a and to of you your for is on with this that it in we")
)

func (c *corpus) message(vocab []string, n int, from string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nSubject: %s %s\r\nContent-Type: text/plain\r\n\r\n", from, vocab[c.rng.IntN(len(vocab))], vocab[c.rng.IntN(len(vocab))])
	for i := range n {
		if i%3 == 0 {
			b.WriteString(shared[c.rng.IntN(len(shared))])
		} else {
			b.WriteString(vocab[c.rng.IntN(len(vocab))])
		}
		b.WriteByte(' ')
	}
	return []byte(b.String())
}

func trained(t testing.TB, c *Classifier, account string, n int) *corpus {
	cp := &corpus{rng: rand.New(rand.NewPCG(1, 2))}
	ctx := context.Background()
	for range n {
		if err := c.Learn(ctx, account, cp.message(spamWords, 80, "promo@spam.example"), true); err != nil {
			t.Fatal(err)
		}
		if err := c.Learn(ctx, account, cp.message(hamWords, 80, "colleague@work.example"), false); err != nil {
			t.Fatal(err)
		}
	}
	return cp
}

func TestClassify(t *testing.T) {
	ctx := context.Background()
	c := &Classifier{Store: NewMemStore()}
	cp := &corpus{rng: rand.New(rand.NewPCG(3, 4))}
	s, err := c.Classify(ctx, "alice", cp.message(spamWords, 80, "x@y.example"))
	if err != nil || s.Trained || s.Probability != 0.5 {
		t.Fatalf("untrained: %+v %v", s, err)
	}

	cp = trained(t, c, "alice", 30)
	for range 10 {
		if s, _ := c.Classify(ctx, "alice", cp.message(spamWords, 60, "other@spam2.example")); !s.Trained || s.Probability < 0.9 {
			t.Errorf("spam scored %+v", s)
		}
		if s, _ := c.Classify(ctx, "alice", cp.message(hamWords, 60, "friend@home.example")); s.Probability > 0.1 {
			t.Errorf("ham scored %+v", s)
		}
	}
	// A message of words never seen is undecided.
	if s, _ := c.Classify(ctx, "alice", []byte("Subject: zzq\r\n\r\nqwv xkcd lorem ipsum\r\n")); s.Probability != 0.5 || s.Clues != 0 {
		t.Errorf("unknown words: %+v", s)
	}
	// Accounts do not share training.
	if s, _ := c.Classify(ctx, "bob", cp.message(spamWords, 60, "x@y.example")); s.Trained {
		t.Errorf("bob: %+v", s)
	}
}

func TestUnlearn(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	c := &Classifier{Store: store, MinTrained: 1}
	spam := []byte("Subject: win\r\n\r\ncasino bonus\r\n")
	ham := []byte("Subject: lunch\r\n\r\nmeeting agenda\r\n")
	c.Learn(ctx, "a", spam, true)
	c.Learn(ctx, "a", ham, false)
	if s, _ := c.Classify(ctx, "a", spam); s.Probability < 0.8 {
		t.Fatalf("%+v", s)
	}
	// The user moves it out of Junk: unlearn spam, learn ham.
	c.Unlearn(ctx, "a", spam, true)
	c.Learn(ctx, "a", spam, false)
	c.Learn(ctx, "a", []byte("Subject: x\r\n\r\nviagra\r\n"), true)
	if s, _ := c.Classify(ctx, "a", spam); s.Probability > 0.2 {
		t.Fatalf("after retraining: %+v", s)
	}
	// Counts never go below zero.
	for range 3 {
		c.Unlearn(ctx, "a", ham, true)
	}
	toks := Tokens(ham)
	counts := make([]Counts, len(toks))
	totals, _ := store.Lookup(ctx, "a", toks, counts)
	if totals.Spam != 0 || totals.Ham != 2 {
		t.Fatalf("totals %+v", totals)
	}
	for _, cnt := range counts {
		if cnt.Spam != 0 {
			t.Fatalf("count %+v", cnt)
		}
	}
}

// message50K is a realistic 50 KB message: a multipart/alternative with a
// quoted-printable text part and a base64 HTML part.
func message50K() []byte {
	rng := rand.New(rand.NewPCG(5, 6))
	vocab := append(append(append([]string{}, spamWords...), hamWords...), shared...)
	var text strings.Builder
	for text.Len() < 20<<10 {
		text.WriteString(vocab[rng.IntN(len(vocab))])
		if rng.IntN(12) == 0 {
			text.WriteString(".\r\n")
		} else {
			text.WriteByte(' ')
		}
	}
	var qp strings.Builder
	w := quotedprintable.NewWriter(&qp)
	w.Write([]byte(text.String()))
	w.Close()
	html := "<html><body><p>" + strings.ReplaceAll(text.String(), "\r\n", "</p><p>") + "<a href=\"https://www.shop.example/x\">x</a></p></body></html>"
	b64 := base64.StdEncoding.EncodeToString([]byte(html))
	var b strings.Builder
	b.WriteString("From: Shop <deals@shop.example>\r\nTo: alice@postern.test\r\nSubject: =?utf-8?q?Gro=C3=9Fe_Angebote?= this week\r\n" +
		"Message-ID: <123@shop.example>\r\nX-Mailer: BulkMail 5.0\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=\"BOUNDARY\"\r\n\r\n--BOUNDARY\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	b.WriteString(qp.String())
	b.WriteString("\r\n--BOUNDARY\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for len(b64) > 76 {
		b.WriteString(b64[:76] + "\r\n")
		b64 = b64[76:]
	}
	b.WriteString(b64 + "\r\n--BOUNDARY--\r\n")
	return []byte(b.String())
}

func TestMessage50K(t *testing.T) {
	msg := message50K()
	if len(msg) < 45<<10 || len(msg) > 60<<10 {
		t.Fatalf("message is %d octets", len(msg))
	}
	if n := len(Tokens(msg)); n < 50 {
		t.Fatalf("%d tokens", n)
	}
}

func BenchmarkClassify50K(b *testing.B) {
	ctx := context.Background()
	c := &Classifier{Store: NewMemStore()}
	trained(b, c, "alice", 200)
	msg := message50K()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Classify(ctx, "alice", msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTokens50K(b *testing.B) {
	msg := message50K()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		Tokens(msg)
	}
}
