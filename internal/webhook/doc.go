// Package webhook tells members what happened without their polling: it
// keeps the outbox of messages to send, signs each message, and delivers it.
//
// A message carries the Standard Webhooks headers (webhook-id,
// webhook-timestamp and webhook-signature, see https://www.standardwebhooks.com)
// and kios's own Signature header, a hex HMAC-SHA256 of the raw body that a
// receiver checks in one line of PHP. Sign makes those headers and Verify
// checks them the way a receiver would. Members' signing secrets are stored
// encrypted under a master key with a Keyring.
//
// Signing and the encryption of secrets at rest come first (sign.go,
// secret.go). The outbox, the delivery worker with its retries and the dialer
// that refuses private addresses live in other files of this package.
package webhook
