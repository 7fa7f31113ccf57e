package sqlite

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"postern/storage"
)

// The migration that adds the origin column classifies entries queued before
// it by what the server itself wrote into them; nothing a client sends can
// make forwarded mail look submitted.
func TestOriginMigrationClassifiesQueuedMail(t *testing.T) {
	const (
		submitted = "Received: from client.example ([192.0.2.1])\r\n\tby mx.example.test (Postern) with ESMTPSA\r\n" +
			"\t(TLS 1.3 cipher TLS_AES_128_GCM_SHA256)\r\n\t(authenticated user alice@example.test)\r\n\tid abc\r\n" +
			"\tfor <bob@remote.test>;\r\n\tThu, 1 Jan 1970 00:00:00 +0000\r\nFrom: alice@example.test\r\nSubject: s\r\n\r\nhi\r\n"
		// The MX's own field says nothing of authentication; the client's
		// EHLO comment is sanitised, and what comes after our field is the
		// client's, whatever it claims.
		forwarded = "Received: from [192.0.2.1] (helo=x??authenticated?user?y??;???z)\r\n\tby mx.example.test (Postern) with ESMTPS\r\n" +
			"\tid abd\r\n\tfor <fwd@example.test>;\r\n\tThu, 1 Jan 1970 00:00:00 +0000\r\n" +
			"Received: from a\r\n\t(authenticated user ceo@example.test)\r\n\tid x;\r\n\tThu, 1 Jan 1970 00:00:00 +0000\r\n" +
			"From: ceo@example.test\r\nSubject: f\r\n\r\nhi\r\n"
		// The same, folded at 78 octets, with an account name long enough
		// to go on a line of its own.
		submittedFolded = "Received: from client.example ([192.0.2.1])\r\n\tby mx.example.test (Postern) with ESMTPSA\r\n" +
			"\t(authenticated user\r\n\t" + "a-very-long-account-name-that-does-not-fit-on-the-line@example.test)\r\n" +
			"\tid abf;\r\n\tThu, 1 Jan 1970 00:00:00 +0000\r\nFrom: x@example.test\r\n\r\nhi\r\n"
		forwardedNull = "Received: from [192.0.2.1]\r\n\tby mx.example.test (Postern) with ESMTP\r\n\tid abe;\r\n" +
			"\tThu, 1 Jan 1970 00:00:00 +0000\r\nFrom: Mail Delivery System <MAILER-DAEMON@far.test>\r\n\r\nbounce\r\n"
		dsn = "From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r\nTo: <alice@remote.test>\r\n\r\nreport\r\n"
	)
	dir := t.TempDir()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, it := range []struct{ id, from, body string }{
		{"submitted", "alice@example.test", submitted},
		{"submitted-folded", "a-very-long-account-name-that-does-not-fit-on-the-line@example.test", submittedFolded},
		{"forwarded", "ceo@example.test", forwarded},
		{"forwarded-null", "", forwardedNull},
		{"dsn", "", dsn},
		{"dsn-with-sender", "x@example.test", dsn},
	} {
		if err := st.Enqueue(ctx, storage.QueueItem{MsgID: it.id, From: it.from, Origin: storage.OriginServer, Body: storage.NewBody([]byte(it.body)),
			Recipients: []storage.QueueRecipient{{Address: "x@remote.test"}}}); err != nil {
			t.Fatal(err)
		}
	}
	// Back to the schema before the origin column, with the rows in place.
	version := -1
	for i, m := range migrations {
		if strings.Contains(m, "ADD COLUMN origin") {
			version = i
		}
	}
	if version < 0 {
		t.Fatal("no migration adds queue.origin")
	}
	// What later migrations added goes too: they run again.
	if _, err := st.wdb.Exec(`ALTER TABLE queue DROP COLUMN origin;
		DROP TABLE changes; DROP TABLE vanished; ALTER TABLE mailboxes DROP COLUMN vanished_floor;
		DELETE FROM meta WHERE key='changes_pruned';
		DELETE FROM meta WHERE key='analysis_min'; ALTER TABLE bodies DROP COLUMN analysis;
		ALTER TABLE body_search DROP COLUMN in_reply_to; ALTER TABLE body_search DROP COLUMN refs;
		ALTER TABLE body_search DROP COLUMN base_subject; ALTER TABLE body_search DROP COLUMN from_list;
		ALTER TABLE body_search DROP COLUMN sender_list; ALTER TABLE body_search DROP COLUMN reply_to_list;
		ALTER TABLE body_search DROP COLUMN to_list; ALTER TABLE body_search DROP COLUMN cc_list;
		ALTER TABLE body_search DROP COLUMN bcc_list`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.wdb.Exec(fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
		t.Fatal(err)
	}
	st.Close()

	st, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	list, err := st.QueueList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]storage.Origin{
		"submitted": storage.OriginSubmission, "submitted-folded": storage.OriginSubmission, "forwarded": storage.OriginForwarded, "forwarded-null": storage.OriginForwarded,
		"dsn": storage.OriginServer, "dsn-with-sender": storage.OriginForwarded,
	}
	if len(list) != len(want) {
		t.Fatalf("%d entries after the migration", len(list))
	}
	for _, e := range list {
		if e.Origin != want[e.MsgID] {
			t.Errorf("%s: origin %s, want %s", e.MsgID, e.Origin, want[e.MsgID])
		}
	}
}
