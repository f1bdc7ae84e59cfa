package iceberg

import (
	"context"
	"strconv"
	"time"
)

// Status is what a table holds in its current snapshot.
type Status struct {
	// Table is the table's name in its catalog; Location its folder;
	// Metadata its current metadata file.
	Table    string `json:"table"`
	Location string `json:"location"`
	Metadata string `json:"metadata"`
	// SnapshotID is the current snapshot (0: none yet, an empty table);
	// Operation what made it (append, replace, ...); LastCommit when.
	SnapshotID int64     `json:"snapshot_id"`
	Operation  string    `json:"operation,omitempty"`
	LastCommit time.Time `json:"last_commit,omitzero"`
	// Snapshots counts the retained snapshots (expire them with compact).
	Snapshots int `json:"snapshots"`
	// Files, Rows and Bytes are the current snapshot's data files, rows
	// and bytes (from its summary).
	Files int64 `json:"files"`
	Rows  int64 `json:"rows"`
	Bytes int64 `json:"bytes"`
}

// Status loads the table and reports its current snapshot.
func (t *Table) Status(ctx context.Context) (Status, error) {
	tbl, err := t.Refresh(ctx)
	if err != nil {
		return Status{}, err
	}
	st := Status{Table: t.name, Location: t.Location(), Metadata: tbl.MetadataLocation(), Snapshots: len(tbl.Metadata().Snapshots())}
	s := tbl.CurrentSnapshot()
	if s == nil {
		return st, nil
	}
	st.SnapshotID = s.SnapshotID
	st.LastCommit = time.UnixMilli(s.TimestampMs).UTC()
	if s.Summary != nil {
		st.Operation = string(s.Summary.Operation)
		num := func(k string) int64 {
			n, _ := strconv.ParseInt(s.Summary.Properties[k], 10, 64)
			return n
		}
		st.Files, st.Rows, st.Bytes = num("total-data-files"), num("total-records"), num("total-files-size")
	}
	return st, nil
}
