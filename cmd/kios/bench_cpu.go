package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"kios/internal/db"
)

// cpuSample is the CPU time used so far by the bench process (its HTTP
// server, workers and clients alike) and by the PostgreSQL backends serving
// it.
type cpuSample struct {
	self     time.Duration
	postgres map[int]time.Duration // backend pid → user+system time
}

// clockTick is the unit of the times in /proc/<pid>/stat (USER_HZ, 100 on
// every Linux kios runs on).
const clockTick = 10 * time.Millisecond

// sampleCPU reads the process's rusage and, on PostgreSQL, the CPU time of
// every backend whose application_name is app (see benchAppName).
func sampleCPU(ctx context.Context, d *db.DB, app string) cpuSample {
	var s cpuSample
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if d.Dialect() != db.Postgres || app == "" {
		return s
	}
	s.postgres = map[int]time.Duration{}
	rows, err := d.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = ?", app)
	if err != nil {
		return s
	}
	defer rows.Close()
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) == nil {
			if t, ok := procCPU(pid); ok {
				s.postgres[pid] = t
			}
		}
	}
	return s
}

// procCPU returns utime+stime of process pid from /proc.
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name, field 2, is in parentheses and may hold spaces;
	// utime and stime are fields 14 and 15.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * clockTick, true
}

// cpuUse is what a run cost: the bench process's CPU and the PostgreSQL
// backends' (ok false on SQLite or when /proc could not be read).
type cpuUse struct {
	self, postgres time.Duration
	backends       int
	pgOK           bool
}

// since returns the CPU used between before and s. A backend that is new
// since before counts from zero; one that ended is not counted (the pool
// keeps its connections while the bench runs).
func (s cpuSample) since(before cpuSample) cpuUse {
	u := cpuUse{self: s.self - before.self, pgOK: len(s.postgres) > 0}
	for pid, t := range s.postgres {
		u.postgres += t - before.postgres[pid]
		u.backends++
	}
	return u
}

// print writes the CPU time per accepted order.
func (u cpuUse) print(w io.Writer, orders int) {
	if orders == 0 {
		return
	}
	per := func(d time.Duration) string {
		return fmt.Sprintf("%.0f µs", float64(d.Microseconds())/float64(orders))
	}
	fmt.Fprintf(w, "cpu per order: kios %s (server, workers and clients)", per(u.self))
	if u.pgOK {
		fmt.Fprintf(w, ", postgres %s (%d backends), total %s", per(u.postgres), u.backends, per(u.self+u.postgres))
	}
	fmt.Fprintln(w)
}

// benchAppName sets application_name on a PostgreSQL URL that has none, so
// that the bench can find its own backends among the server's; it returns
// the URL and the name ("" when the URL already names one or is not a
// PostgreSQL URL).
func benchAppName(dsn string) (string, string) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn, ""
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn, ""
	}
	q := u.Query()
	if q.Get("application_name") != "" {
		return dsn, q.Get("application_name")
	}
	app := fmt.Sprintf("kios-bench-%d", os.Getpid())
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String(), app
}
