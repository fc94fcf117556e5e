"""The evidence bundle for police: signed manifest, custody log, reports, s.90A draft.

`bundle.create_bundle` writes it, `verify_bundle.verify_bundle` checks it without the case,
`timestamp.request_timestamp` gets an RFC 3161 token for its manifest hash. See docs/bundle.md.
"""
