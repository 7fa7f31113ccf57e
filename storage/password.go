package storage

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2id parameters: the OWASP minimum (19 MiB, 2 passes), about 20 ms a
// check here.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	maxPassword  = 1024
)

var b64 = base64.RawStdEncoding

// hashSlots bounds the password hashes computed at once: each takes
// argonMemory, so a burst of logins must queue rather than exhaust memory.
var hashSlots = make(chan struct{}, max(2, runtime.NumCPU()))

func argonKey(password, salt []byte, passes, memory uint32, threads uint8, keyLen uint32) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey(password, salt, passes, memory, threads, keyLen)
}

// HashPassword returns the PHC-format argon2id hash of password.
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errors.New("password is empty")
	}
	if len(password) > maxPassword {
		return "", fmt.Errorf("password is longer than %d bytes", maxPassword)
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argonKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches hash (argon2id PHC, or
// bcrypt for hashes imported from other servers). It is slow on purpose:
// an argon2id check takes 19 MiB and tens of milliseconds.
func CheckPassword(hash, password string) bool {
	if len(password) > maxPassword {
		return false
	}
	if strings.HasPrefix(hash, "$2") {
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	// A corrupt hash must not make us allocate gigabytes.
	if m == 0 || m > 1<<21 || t == 0 || t > 16 || p == 0 {
		return false
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	got := argonKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when the account does not exist, so that a
// failed login takes as long for an unknown user as for a wrong password.
var dummyHash, _ = HashPassword("postern-timing-equaliser")

// CheckLogin applies the login rules to what a backend found for an
// address: the account and its password hash, found false when there is
// no such account. Unknown accounts and wrong passwords give
// ErrAuthFailed, so that a client cannot tell them apart. The right
// password of a disabled account gives ErrAccountDisabled: its owner is
// told why the login fails, and nobody else learns more than a failure.
func CheckLogin(a Account, hash string, found bool, password string) (Account, error) {
	if !found {
		CheckPassword(dummyHash, password)
		return Account{}, ErrAuthFailed
	}
	if !CheckPassword(hash, password) {
		return Account{}, ErrAuthFailed
	}
	if a.Disabled {
		return Account{}, fmt.Errorf("account %s: %w", a.Address, ErrAccountDisabled)
	}
	return a, nil
}
