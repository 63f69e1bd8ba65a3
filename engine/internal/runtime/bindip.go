package runtime

import (
	"fmt"
	"net/netip"
	"strings"
)

// inPools checks a bind_ip argument at run time: a script may send only
// from addresses of the scenario's own pools, which preflight has checked,
// never from any address the host happens to have.
func (r *run) inPools(a netip.Addr) error {
	var ids []string
	for _, sp := range r.s.Pools {
		if r.pools[sp.ID].Contains(a) {
			return nil
		}
		ids = append(ids, sp.ID)
	}
	if len(ids) == 0 {
		return fmt.Errorf("bind_ip %s: the scenario has no ip pools; bind_ip must be an address of one of them", a)
	}
	return fmt.Errorf("bind_ip %s is not an address of the scenario's ip pools (%s)", a, strings.Join(ids, ", "))
}
