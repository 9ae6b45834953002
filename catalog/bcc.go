package catalog

import "github.com/latchkey/latchkey/core"

// bccRegions lists Baidu AI Cloud BCC's regions: id and Chinese name.
var bccRegions = [...]struct{ id, name string }{
	{"bj", "北京"}, {"gz", "广州"}, {"su", "苏州"}, {"bd", "保定"},
	{"fwh", "武汉"}, {"hkg", "香港"}, {"fsh", "上海"},
}

// BCCRegions returns BCC's region ids in catalog order.
func BCCRegions() []core.RegionID {
	out := make([]core.RegionID, len(bccRegions))
	for i, r := range bccRegions {
		out[i] = core.RegionID(r.id)
	}
	return out
}

// IsBCCRegion reports whether id is a BCC region.
func IsBCCRegion(id core.RegionID) bool {
	for _, r := range bccRegions {
		if core.RegionID(r.id) == id {
			return true
		}
	}
	return false
}
