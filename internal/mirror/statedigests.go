package mirror

import "context"

// StateDigests reads the identity state ref names from side and returns
// each recorded file's digest, only when the blob hashes to ref.SHA256 and
// holds ref.Records records (the check Run makes before it trusts a
// state). An adapter that lists every file with its digest (a manifest)
// takes the digests of the files a trusted run kept without reading from
// here.
func StateDigests(ctx context.Context, side Side, ref StateRef) (map[string][32]byte, error) {
	b, err := side.ReadState(ctx, ref.Name, stateMax(ref.Records))
	if err != nil {
		return nil, err
	}
	recs, err := trustState(b, ref)
	if err != nil {
		return nil, err
	}
	out := make(map[string][32]byte, len(recs))
	for p, r := range recs {
		out[p] = r.Digest
	}
	return out, nil
}
