package schedule

import (
	"fmt"
	"strconv"
	"strings"

	"go.temporal.io/sdk/client"
)

// cronField is one field of a 5-field cron expression.
type cronField struct {
	name     string
	min, max int
	names    []string // names[i] stands for min+i (JAN, SUN, ...)
}

var cronFields = []cronField{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day of month", min: 1, max: 31},
	{name: "month", min: 1, max: 12,
		names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	// 7 is Sunday too, as in most crons and in Temporal.
	{name: "day of week", min: 0, max: 7, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
}

// cronShorthands are the @ forms Temporal accepts; @every is left out
// because every says the same thing more plainly.
var cronShorthands = map[string]bool{"@yearly": true, "@monthly": true, "@weekly": true, "@daily": true, "@hourly": true}

// validateCron checks a standard 5-field expression here, so a mistake is
// reported with the field at fault rather than as Temporal's generic error.
func validateCron(expr string) error {
	if strings.HasPrefix(expr, "@") {
		if !cronShorthands[strings.ToLower(expr)] {
			return invalid("cron", "%q: unknown shorthand; use @hourly, @daily, @weekly, @monthly or @yearly", expr)
		}
		return nil
	}
	fields := strings.Fields(expr)
	if len(fields) != len(cronFields) {
		return invalid("cron", "%q has %d fields; want 5: minute hour day-of-month month day-of-week", expr, len(fields))
	}
	for i, f := range fields {
		if err := cronFields[i].check(f); err != nil {
			return invalid("cron", "%q: %s %q: %v", expr, cronFields[i].name, f, err)
		}
	}
	return nil
}

// check accepts a comma-separated list of *, N or N-M, each optionally
// followed by /STEP.
func (cf cronField) check(field string) error {
	for _, item := range strings.Split(field, ",") {
		base, step, hasStep := strings.Cut(item, "/")
		if hasStep {
			n, err := strconv.Atoi(step)
			if err != nil || n < 1 || n > cf.max {
				return fmt.Errorf("step %q must be a number from 1 to %d", step, cf.max)
			}
		}
		if base == "*" {
			continue
		}
		lo, hi, isRange := strings.Cut(base, "-")
		a, err := cf.value(lo)
		if err != nil {
			return err
		}
		if !isRange {
			continue
		}
		b, err := cf.value(hi)
		if err != nil {
			return err
		}
		if b < a {
			return fmt.Errorf("range %s runs backwards", base)
		}
	}
	return nil
}

func (cf cronField) value(s string) (int, error) {
	for i, n := range cf.names {
		if strings.EqualFold(s, n) {
			return cf.min + i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < cf.min || v > cf.max {
		return 0, fmt.Errorf("%q is not a value from %d to %d", s, cf.min, cf.max)
	}
	return v, nil
}

// cronOf renders the calendar Temporal keeps for a cron expression back as
// an equivalent 5-field expression ("MON-FRI" comes back as "1-5").
func cronOf(c client.ScheduleCalendarSpec) string {
	parts := []string{
		cronRanges(c.Minute, 0, 59),
		cronRanges(c.Hour, 0, 23),
		cronRanges(c.DayOfMonth, 1, 31),
		cronRanges(c.Month, 1, 12),
		cronRanges(c.DayOfWeek, 0, 6),
	}
	return strings.Join(parts, " ")
}

func cronRanges(rs []client.ScheduleRange, min, max int) string {
	if len(rs) == 0 {
		return "*"
	}
	items := make([]string, 0, len(rs))
	for _, r := range rs {
		end := r.End
		if end < r.Start {
			end = r.Start // Temporal's "single value" form
		}
		var s string
		switch {
		case r.Start == min && end == max:
			s = "*"
		case end == r.Start:
			s = strconv.Itoa(r.Start)
		default:
			s = fmt.Sprintf("%d-%d", r.Start, end)
		}
		if r.Step > 1 {
			if end == r.Start {
				s = fmt.Sprintf("%d-%d", r.Start, max) // N/S means from N to the end
			}
			s += "/" + strconv.Itoa(r.Step)
		}
		items = append(items, s)
	}
	return strings.Join(items, ",")
}
