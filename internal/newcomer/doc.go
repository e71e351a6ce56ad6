// Package newcomer holds the newcomer lane (build tag newcomer): a test
// that follows the README from a fresh clone, with the commands it reads
// from the README itself, so the README cannot drift from what works.
package newcomer
