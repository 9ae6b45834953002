package testutil_test

import (
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
)

// The clocks are core.Clocks. The assertion lives here rather than beside
// them so that package testutil itself imports nothing of latchkey.
var (
	_ core.Clock = (*testutil.ManualClock)(nil)
	_ core.Clock = (*testutil.OffsetClock)(nil)
)
