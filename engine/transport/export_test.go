package transport

// H2IdleCheck is h2IdleCheck, for the tests outside the package that
// wait past it.
const H2IdleCheck = h2IdleCheck
