package contract

// RefusalMetadata: something of a source entry beyond its bytes that the
// target cannot take, such as a hard link the target's file system refuses
// (another file system below the root, too many links) or a user without
// the right to make it. The entry's name is then missing or not linked.
const RefusalMetadata = "metadata"

func init() { RefusalKinds = append(RefusalKinds, RefusalMetadata) }
