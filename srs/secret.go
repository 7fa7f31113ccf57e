package srs

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// SecretFile is the name of the secrets file in data_dir.
const SecretFile = "srs.key"

// minSecret is the shortest secret accepted from the file.
const minSecret = 16

// LoadSecrets reads the secrets file at path, creating it with one new
// random secret (mode 0600) when it does not exist. The file holds one secret
// per line; the first makes new addresses and the others still verify old
// ones, so a secret is rotated by adding a new first line and deleting the
// old one after MaxAge. Blank lines and lines starting with '#' are skipped.
func LoadSecrets(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := create(path); err != nil {
			return nil, err
		}
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("srs: reading secrets: %w", err)
	}
	var secrets [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if len(line) < minSecret {
			return nil, fmt.Errorf("srs: %s line %d: a secret needs at least %d characters", path, n, minSecret)
		}
		secrets = append(secrets, bytes.Clone(line))
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("srs: %s holds no secret; delete it to have a new one made", path)
	}
	return secrets, nil
}

func create(path string) error {
	key := make([]byte, 32)
	rand.Read(key)
	line := "# SRS secrets: the first line signs, all verify. Keep this file private.\n" +
		base64.RawStdEncoding.EncodeToString(key) + "\n"
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("srs: creating secrets: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil // made by another process meanwhile
	}
	if err != nil {
		return fmt.Errorf("srs: creating secrets: %w", err)
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return fmt.Errorf("srs: writing secrets: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("srs: writing secrets: %w", err)
	}
	return f.Close()
}
