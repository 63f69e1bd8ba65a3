//go:build !linux

package runtime

import "errors"

// localRoutes is not implemented off Linux: Preflight binds each address.
func localRoutes() (*localSet, error) { return nil, errors.New("local routes are read on Linux only") }
