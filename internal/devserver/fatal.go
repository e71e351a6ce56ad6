package devserver

import (
	"fmt"
	"strings"
	"syscall"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// fatalPanics turns the server's Fatal log calls into a panic that Start
// recovers as an error: the server logs a listener it cannot bind as
// fatal and would otherwise carry on without it, so a port taken between
// choosing and binding could not be retried.
type fatalPanics struct{ log.Logger }

// fatalError is what a recovered Fatal call carries.
type fatalError struct{ err error }

func (l fatalPanics) With(tags ...tag.Tag) log.Logger {
	return fatalPanics{log.With(l.Logger, tags...)}
}

func (l fatalPanics) Fatal(msg string, tags ...tag.Tag) {
	l.Logger.Error(msg, tags...)
	var cause, addr string
	for _, t := range tags {
		switch t.Key() {
		case "error":
			cause = fmt.Sprint(t.Value())
		case "address":
			addr = " on " + fmt.Sprint(t.Value())
		}
	}
	err := fmt.Errorf("%s%s: %s", msg, addr, cause)
	if strings.Contains(cause, "address already in use") {
		err = fmt.Errorf("%s%s: %w", msg, addr, syscall.EADDRINUSE)
	}
	panic(fatalError{err})
}

// recoverFatal ends a Fatal call's panic with its error in *err; other
// panics go on.
func recoverFatal(err *error) {
	r := recover()
	if r == nil {
		return
	}
	if f, ok := r.(fatalError); ok {
		*err = f.err
		return
	}
	panic(r)
}
