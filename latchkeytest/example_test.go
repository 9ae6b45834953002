package latchkeytest_test

import (
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/latchkeytest"
)

// TestRotateVNCPassword creates an instance with the official ECS client,
// changes its VNC password twice and checks on the console that only the
// last one opens it. README.md shows this file as its example.
func TestRotateVNCPassword(t *testing.T) {
	lk := latchkeytest.Start(t)
	creds := lk.Credentials()
	client, err := ecs.NewClientWithAccessKey("cn-hangzhou", creds.AccessKeyID, creds.AccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	client.Domain = lk.HTTPEndpoint()

	run := ecs.CreateRunInstancesRequest()
	run.RegionId = "cn-hangzhou"
	run.ImageId = "aliyun_3_x64_20G_alibase_20240819.vhd"
	run.InstanceType = "ecs.g7.large"
	run.IoOptimized = "optimized" // a new VNC password is live at once
	created, err := client.RunInstances(run)
	if err != nil {
		t.Fatal(err)
	}
	id := created.InstanceIdSets.InstanceIdSet[0]

	for _, password := range []string{"Old123", "New456"} {
		req := ecs.CreateModifyInstanceVncPasswdRequest()
		req.RegionId, req.InstanceId, req.VncPassword = "cn-hangzhou", id, password
		if _, err := client.ModifyInstanceVncPasswd(req); err != nil {
			t.Fatal(err)
		}
	}

	if ok, err := lk.CheckConsolePassword(id, "New456"); err != nil || !ok {
		t.Fatalf("the new password does not open the console (%v)", err)
	}
	if ok, err := lk.CheckConsolePassword(id, "Old123"); err != nil || ok {
		t.Fatalf("the old password still opens the console (%v)", err)
	}
}
