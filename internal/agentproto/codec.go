package agentproto

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Enc appends fields to a payload.
type Enc struct{ B []byte }

func (e *Enc) U8(v uint8)   { e.B = append(e.B, v) }
func (e *Enc) U16(v uint16) { e.B = binary.BigEndian.AppendUint16(e.B, v) }
func (e *Enc) U32(v uint32) { e.B = binary.BigEndian.AppendUint32(e.B, v) }
func (e *Enc) U64(v uint64) { e.B = binary.BigEndian.AppendUint64(e.B, v) }
func (e *Enc) I64(v int64)  { e.U64(uint64(v)) }
func (e *Enc) Bool(v bool) {
	if v {
		e.U8(1)
	} else {
		e.U8(0)
	}
}

// Str writes a string of at most MaxString bytes (longer ones are a caller
// bug the decoder would refuse, so they are cut here to keep frames valid).
func (e *Enc) Str(s string) {
	if len(s) > MaxString {
		s = s[:MaxString]
	}
	e.U32(uint32(len(s)))
	e.B = append(e.B, s...)
}

// MaxString bounds any string field (names are at most 4096 bytes; error
// messages are cut to this).
const MaxString = 64 << 10

// ErrShort is returned when a payload ends before its fields do.
var ErrShort = errors.New("agent protocol: payload shorter than its fields")

// Dec reads fields from a payload; after the first error every read
// returns zero and Err reports it.
type Dec struct {
	B   []byte
	err error
}

func (d *Dec) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.B) {
		d.err = ErrShort
		return nil
	}
	b := d.B[:n]
	d.B = d.B[n:]
	return b
}

func (d *Dec) U8() uint8 {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}
func (d *Dec) U16() uint16 {
	if b := d.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}
func (d *Dec) U32() uint32 {
	if b := d.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}
func (d *Dec) U64() uint64 {
	if b := d.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}
func (d *Dec) I64() int64 { return int64(d.U64()) }
func (d *Dec) Bool() bool {
	v := d.U8()
	if v > 1 && d.err == nil {
		d.err = fmt.Errorf("agent protocol: boolean field is %d", v)
	}
	return v == 1
}

// Str reads a string whose length is checked against the bound and the
// bytes left before it is copied.
func (d *Dec) Str(max int) string {
	n := d.U32()
	if d.err != nil {
		return ""
	}
	if int64(n) > int64(max) {
		d.err = fmt.Errorf("agent protocol: string of %d bytes, at most %d allowed", n, max)
		return ""
	}
	return string(d.take(int(n)))
}

// Err is the first decoding error.
func (d *Dec) Err() error { return d.err }

// Done is Err, plus an error if bytes are left over.
func (d *Dec) Done() error {
	if d.err == nil && len(d.B) != 0 {
		d.err = fmt.Errorf("agent protocol: %d bytes left after the last field", len(d.B))
	}
	return d.err
}
