package catalog

import (
	"fmt"

	"github.com/latchkey/latchkey/core"
)

// alibabaRegions lists Alibaba Cloud's public regions: id, zh-CN name,
// en-US name and number of zones (named <region>-a, -b, …).
var alibabaRegions = [...]struct {
	id, zh, en string
	zones      int
}{
	{"cn-qingdao", "华北1（青岛）", "China (Qingdao)", 2},
	{"cn-beijing", "华北2（北京）", "China (Beijing)", 6},
	{"cn-zhangjiakou", "华北3（张家口）", "China (Zhangjiakou)", 3},
	{"cn-huhehaote", "华北5（呼和浩特）", "China (Hohhot)", 2},
	{"cn-wulanchabu", "华北6（乌兰察布）", "China (Ulanqab)", 3},
	{"cn-hangzhou", "华东1（杭州）", "China (Hangzhou)", 6},
	{"cn-shanghai", "华东2（上海）", "China (Shanghai)", 6},
	{"cn-nanjing", "华东5（南京-本地地域）", "China (Nanjing - Local Region)", 1},
	{"cn-fuzhou", "华东6（福州-本地地域）", "China (Fuzhou - Local Region)", 1},
	{"cn-shenzhen", "华南1（深圳）", "China (Shenzhen)", 4},
	{"cn-heyuan", "华南2（河源）", "China (Heyuan)", 2},
	{"cn-guangzhou", "华南3（广州）", "China (Guangzhou)", 2},
	{"cn-chengdu", "西南1（成都）", "China (Chengdu)", 2},
	{"cn-hongkong", "中国香港", "China (Hong Kong)", 3},
	{"ap-southeast-1", "新加坡", "Singapore", 3},
	{"ap-southeast-3", "马来西亚（吉隆坡）", "Malaysia (Kuala Lumpur)", 2},
	{"ap-southeast-5", "印度尼西亚（雅加达）", "Indonesia (Jakarta)", 3},
	{"ap-southeast-6", "菲律宾（马尼拉）", "Philippines (Manila)", 1},
	{"ap-southeast-7", "泰国（曼谷）", "Thailand (Bangkok)", 1},
	{"ap-northeast-1", "日本（东京）", "Japan (Tokyo)", 2},
	{"ap-northeast-2", "韩国（首尔）", "South Korea (Seoul)", 1},
	{"us-west-1", "美国（硅谷）", "US (Silicon Valley)", 2},
	{"us-east-1", "美国（弗吉尼亚）", "US (Virginia)", 2},
	{"eu-central-1", "德国（法兰克福）", "Germany (Frankfurt)", 2},
	{"eu-west-1", "英国（伦敦）", "UK (London)", 2},
	{"me-east-1", "阿联酋（迪拜）", "UAE (Dubai)", 1},
	{"me-central-1", "沙特（利雅得）", "Saudi Arabia (Riyadh)", 2},
}

// Alibaba is the Alibaba Cloud region catalog, shared by ECS and E-HPC.
type Alibaba struct {
	list  []core.Region
	index map[core.RegionID]int
}

// NewAlibaba builds the catalog.
func NewAlibaba() *Alibaba {
	c := &Alibaba{index: make(map[core.RegionID]int, len(alibabaRegions))}
	for i, r := range alibabaRegions {
		reg := core.Region{
			ID:       core.RegionID(r.id),
			Names:    map[string]string{"zh-CN": r.zh, "en-US": r.en},
			Endpoint: fmt.Sprintf("ecs.%s.aliyuncs.com", r.id),
		}
		for z := 0; z < r.zones; z++ {
			reg.Zones = append(reg.Zones, core.ZoneID(fmt.Sprintf("%s-%c", r.id, 'a'+z)))
		}
		c.index[reg.ID] = i
		c.list = append(c.list, reg)
	}
	return c
}

// Regions returns every region in catalog order. Callers must not modify
// the result.
func (c *Alibaba) Regions() []core.Region { return c.list }

// Region returns the region with the given id.
func (c *Alibaba) Region(id core.RegionID) (core.Region, bool) {
	i, ok := c.index[id]
	if !ok {
		return core.Region{}, false
	}
	return c.list[i], true
}

// HasZone reports whether zone belongs to region.
func (c *Alibaba) HasZone(region core.RegionID, zone core.ZoneID) bool {
	r, ok := c.Region(region)
	if !ok {
		return false
	}
	for _, z := range r.Zones {
		if z == zone {
			return true
		}
	}
	return false
}

// instancePrefixes are the region-specific characters real instance ids
// carry after "i-" (i-bp… in Hangzhou, i-wz… in Shenzhen).
var instancePrefixes = map[core.RegionID]string{
	"cn-hangzhou": "bp", "cn-shanghai": "uf", "cn-beijing": "2ze", "cn-shenzhen": "wz",
	"cn-qingdao": "m5e", "cn-zhangjiakou": "8vb", "cn-huhehaote": "hp3", "cn-hongkong": "j6c",
	"ap-southeast-1": "t4n", "us-west-1": "rj9", "us-east-1": "0xi", "eu-central-1": "gw8",
}

// InstancePrefix returns the id prefix of instances in region.
func InstancePrefix(region core.RegionID) string {
	if p, ok := instancePrefixes[region]; ok {
		return p
	}
	return "x"
}
