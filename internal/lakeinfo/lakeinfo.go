// Package lakeinfo summarises a local lake: files, bytes, rows and, per
// category, the newest event time, read from Parquet footers only (column
// statistics), never from the data pages.
package lakeinfo

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/entralake/entralake/schema"
)

// Category is what the lake holds for one category partition.
type Category struct {
	Files       int       `json:"files"`
	Bytes       int64     `json:"bytes"`
	Rows        int64     `json:"rows"`
	NewestEvent time.Time `json:"newest_event_time"`
}

// Table summarises one table folder.
type Table struct {
	Files      int                  `json:"files"`
	Bytes      int64                `json:"bytes"`
	Rows       int64                `json:"rows"`
	Categories map[string]*Category `json:"categories,omitempty"`
	// Temporary counts hidden temporary files (writers at work, or left by
	// a crash and removed after an hour).
	Temporary int `json:"temporary_files"`
	// Layouts counts the files by partitioning: "hour" (under an hour=
	// folder) or "day" (date= and no hour=). Two keys in the main table
	// mean parsers ran with different --partition.
	Layouts map[string]int `json:"layouts,omitempty"`
}

// Scan reads the footers of every Parquet file under root/table.
func Scan(root, table string) (*Table, error) {
	t := &Table{Categories: map[string]*Category{}, Layouts: map[string]int{}}
	dir := filepath.Join(root, table)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			t.Temporary++
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".parquet") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rows, newest, err := footer(p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		t.Files++
		t.Bytes += info.Size()
		t.Rows += rows
		if l := layoutOf(dir, p); l != "" {
			t.Layouts[l]++
		}
		if cat := categoryOf(dir, p); cat != "" {
			c := t.Categories[cat]
			if c == nil {
				c = &Category{}
				t.Categories[cat] = c
			}
			c.Files++
			c.Bytes += info.Size()
			c.Rows += rows
			if newest.After(c.NewestEvent) {
				c.NewestEvent = newest
			}
		}
		return nil
	})
	return t, err
}

// layoutOf is the partitioning of the file at p: "hour", "day", or "" when
// it is in no date= folder.
func layoutOf(dir, p string) string {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return ""
	}
	layout := ""
	for _, seg := range strings.Split(filepath.ToSlash(rel), "/") {
		switch {
		case strings.HasPrefix(seg, "hour="):
			return string(schema.PartitionHour)
		case strings.HasPrefix(seg, "date="):
			layout = string(schema.PartitionDay)
		}
	}
	return layout
}

func categoryOf(dir, p string) string {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return ""
	}
	for _, seg := range strings.Split(filepath.ToSlash(rel), "/") {
		if v, ok := strings.CutPrefix(seg, "category="); ok {
			return v
		}
	}
	return ""
}

// footer returns the row count and the largest p_event_time of a file.
func footer(p string) (int64, time.Time, error) {
	r, err := file.OpenParquetFile(p, false)
	if err != nil {
		return 0, time.Time{}, err
	}
	defer r.Close()
	md := r.MetaData()
	col := md.Schema.ColumnIndexByName(schema.ColEventTime)
	var newest time.Time
	for i := 0; i < md.NumRowGroups(); i++ {
		if col < 0 {
			break
		}
		cc, err := md.RowGroup(i).ColumnChunk(col)
		if err != nil {
			return 0, time.Time{}, err
		}
		st, err := cc.Statistics()
		if err != nil || st == nil || !st.HasMinMax() {
			continue
		}
		if s, ok := st.(*metadata.Int64Statistics); ok {
			if t := time.UnixMicro(s.Max()).UTC(); t.After(newest) {
				newest = t
			}
		}
	}
	return md.NumRows, newest, nil
}
