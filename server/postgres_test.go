package server_test

import (
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/internal/testenv"
)

// TestPostgresReplicas runs two latchkey replicas on one PostgreSQL store
// (PRODUCT.md §1 --store, §6): they share the master key, the second finds
// the first's account and writes the same credentials.json, sees its
// instances, and its console takes the live password the first set.
func TestPostgresReplicas(t *testing.T) {
	a, b := startReplicas(t)
	ca := a.ECS(t)
	id := runInstance(t, ca, "optimized")
	setVNCPassword(t, ca, id, "Repl1c")

	if b.Credentials != a.Credentials {
		t.Fatal("the second replica's credentials.json differs from the first's")
	}
	cb := b.ECS(t)
	req := ecs.CreateDescribeInstancesRequest()
	req.RegionId = testenv.Region
	resp, err := cb.DescribeInstances(req)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Instances.Instance) != 1 || resp.Instances.Instance[0].InstanceId != id {
		t.Fatalf("the second replica sees %d instances, want the first's one", len(resp.Instances.Instance))
	}
	if err := consoleLogin(t, b, cb, id, "Repl1c"); err != nil {
		t.Errorf("the second replica's console with the live password: %v", err)
	}
}
