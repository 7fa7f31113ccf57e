//go:build !unix

package sqlite

// owner names the user a file belongs to, where the system says.
func owner(string) string { return "another user" }
