package agentproto

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/umzug-dev/umzug/internal/rootfs"
)

func TestMetaRoundTrip(t *testing.T) {
	q := MetaRequest{Root: 3, Rels: []string{"a", "d/b"}, Accounts: AccountsQuery{UIDs: []uint32{2101}, Groups: []string{"clerks"}},
		Wants: [][]rootfs.Xattr{{{Name: "user.t", Value: []byte("v")}}, nil}, Carried: []string{"user.", "system.posix_acl_access"}}
	got, err := DecodeMetaRequest(q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if got.Root != 3 || !reflect.DeepEqual(got.Rels, q.Rels) || got.Accounts.UIDs[0] != 2101 || got.Accounts.Groups[0] != "clerks" ||
		string(got.Wants[0][0].Value) != "v" || len(got.Wants[1]) != 0 || !reflect.DeepEqual(got.Carried, q.Carried) {
		t.Fatalf("request: %+v", got)
	}
	r := MetaResult{Accounts: AccountsAnswer{EUID: 1, UserIDs: []int64{-1}}, Items: []MetaItem{
		{Xattrs: []rootfs.Xattr{{Name: "user.t", Value: []byte{0, 1}}}, Failed: []string{"system.posix_acl_access"}, Errnos: []uint32{95}, Messages: []string{"not supported"}},
		{Code: CodeNotExist, Message: "gone"}}}
	gr, err := DecodeMetaResult(r.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gr.Encode(), r.Encode()) || len(gr.Items) != 2 || gr.Items[0].Errnos[0] != 95 || gr.Accounts.UserIDs[0] != -1 || gr.Items[1].OK() || !gr.Items[0].OK() {
		t.Fatalf("result: %+v", gr)
	}
}

// Counts beyond the bounds or the bytes left are refused before any
// allocation of that size.
func TestMetaDecodeBounds(t *testing.T) {
	var e Enc
	e.U32(1)
	e.U32(MaxMetaBatch + 1) // rels
	if _, err := DecodeMetaRequest(e.B); err == nil {
		t.Fatal("oversize batch decoded")
	}
	var h Enc
	h.U32(0)
	h.U32(0)
	for range 4 {
		h.U32(0)
	}
	h.U32(1 << 30) // items
	if _, err := DecodeMetaResult(h.B); err == nil {
		t.Fatal("item count beyond the payload decoded")
	}
	r := MetaResult{Items: []MetaItem{{Failed: []string{"x"}}}}
	if _, err := DecodeMetaResult(r.Encode()); err == nil {
		t.Fatal("failed names without errnos decoded")
	}
	if !TAccounts.IsRequest() || !TSetXattrs.IsRequest() || TMetaResult.IsRequest() || TMetaResult.String() != "meta-result" {
		t.Fatal("metadata frame types")
	}
}
