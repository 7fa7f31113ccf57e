package outbound

import (
	"context"

	"postern/storage"
)

// Drop removes a queue entry without delivering it. Unless silent, the sender
// gets a failure report for every recipient still pending (when the sender
// asked for failure reports and is not the null sender), committed in the
// same transaction as the removal.
func (r *Runner) Drop(ctx context.Context, id int64, silent bool) error {
	e, err := r.st.QueueEntry(ctx, id)
	if err != nil {
		return err
	}
	var n storage.Notice
	if !silent && e.From != "" {
		var report []reportRcpt
		for _, rc := range e.Pending() {
			if notifies(rc.Notify, "FAILURE") {
				o := outcome{status: storage.RcptFailed, enh: "5.3.0", msg: "removed from the queue by the administrator" + lastError(rc, e)}
				report = append(report, reportRcpt{rcpt: rc, out: o, action: "failed"})
			}
		}
		if len(report) > 0 {
			if n, err = r.notice(ctx, e, report); err != nil {
				return err
			}
		}
	}
	return r.st.QueueDrop(ctx, id, n)
}

func lastError(rc storage.QueueRcpt, e storage.QueueEntry) string {
	if rc.Error != "" {
		return " (last error: " + rc.Error + ")"
	}
	if e.LastError != "" {
		return " (last error: " + e.LastError + ")"
	}
	return ""
}
