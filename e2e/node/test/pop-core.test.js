'use strict';

// @alicloud/pop-core, Alibaba Cloud's Node.js RPC client: signature V1
// (HMAC-SHA1) over plain HTTP, for ECS, E-HPC 2018-04-12 and STS.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const RPCClient = require('@alicloud/pop-core');
const env = require('../lib/env');

function client(apiVersion, endpoint = `http://${env.http}`) {
  return new RPCClient({
    accessKeyId: env.accessKeyId,
    accessKeySecret: env.accessKeySecret,
    endpoint,
    apiVersion,
  });
}

// POST puts every parameter in the body: pop-core's error messages quote
// the request URL, which for GET holds the parameters, passwords included.
const post = { method: 'POST' };

// failure is what pop-core makes of an error answer: the code and message
// of the body, and the HTTP status.
async function failure(call) {
  try {
    await call;
  } catch (err) {
    return {
      code: err.code,
      message: err.data && err.data.Message,
      status: err.entry && err.entry.response.statusCode,
    };
  }
  assert.fail('the call succeeded');
}

test('ECS 2014-05-26', async (t) => {
  const ecs = client('2014-05-26');
  const run = await ecs.request('RunInstances', {
    RegionId: env.region,
    ImageId: 'aliyun_3_x64_20G_alibase_20240528.vhd',
    InstanceType: 'ecs.g7.large',
    Amount: 3,
  }, post);
  const ids = run.InstanceIdSets.InstanceIdSet;
  assert.equal(ids.length, 3);

  await t.test('DescribeInstances pages by PageSize and by NextToken', async () => {
    // Other test files create instances in the same region at the same
    // time: this one lists its own.
    const mine = { RegionId: env.region, InstanceIds: JSON.stringify(ids) };
    const first = await ecs.request('DescribeInstances', { ...mine, PageSize: 1 }, post);
    assert.equal(first.TotalCount, 3);
    assert.equal(first.Instances.Instance.length, 1);
    assert.ok(first.NextToken, 'a page after which instances remain has a NextToken');
    const seen = new Set(first.Instances.Instance.map((i) => i.InstanceId));
    let token = first.NextToken;
    for (let pages = 0; token && pages < 3; pages++) {
      const next = await ecs.request('DescribeInstances', { ...mine, MaxResults: 1, NextToken: token }, post);
      next.Instances.Instance.forEach((i) => seen.add(i.InstanceId));
      token = next.NextToken;
    }
    assert.deepEqual([...seen].sort(), [...ids].sort());
    assert.equal(token, '');
  });

  await t.test('ModifyInstanceVncPasswd', async () => {
    const res = await ecs.request('ModifyInstanceVncPasswd', {
      RegionId: env.region, InstanceId: ids[0], VncPassword: env.passwords.popcore,
    }, post);
    assert.match(res.RequestId, env.requestIdUpper);
    env.record('popcore', ids[0]);
  });

  await t.test('ModifyInstanceVncPasswd errors', async () => {
    const modify = (params) => ecs.request('ModifyInstanceVncPasswd', { RegionId: env.region, ...params }, post);
    assert.deepEqual(await failure(modify({ InstanceId: ids[1], VncPassword: 'Abc1234' })), {
      code: 'IncorrectVncPassword.Malformed', status: 400,
      message: 'The specified parameter VncPassword must be 6 characters, including uppercase characters, lowercase characters and numbers.',
    });
    assert.deepEqual(await failure(modify({ InstanceId: ids[1], VncPassword: 'Abc!23' })), {
      code: 'IncorrectVncPassword.Malformed', status: 400,
      message: 'The specified parameter VncPassword is not valid.',
    });
    assert.deepEqual(await failure(modify({ InstanceId: 'i-bp1nothere0000000000', VncPassword: 'Abc123' })), {
      code: 'InvalidInstanceId.NotFound', status: 404,
      message: 'The specified InstanceId does not exist.',
    });
    assert.deepEqual(await failure(modify({ RegionId: 'xx-nowhere-1', InstanceId: ids[1], VncPassword: 'Abc123' })), {
      code: 'InvalidRegionId.NotFound', status: 404,
      message: 'The specified RegionId does not exist.',
    });
  });
});

test('E-HPC 2018-04-12: ModifyVisualServicePasswd', async () => {
  const ehpc = client('2018-04-12');
  const created = await ehpc.request('CreateCluster', {
    RegionId: env.region,
    Name: 'node-hpc',
    ZoneId: 'cn-hangzhou-b',
    OsTag: 'CentOS_7.6_64',
    'EcsOrder.Manager.InstanceType': 'ecs.g7.large',
    'EcsOrder.Compute.Count': 1,
    'EcsOrder.Compute.InstanceType': 'ecs.c7.large',
    'EcsOrder.Login.Count': 1,
    'EcsOrder.Login.InstanceType': 'ecs.g7.large',
    Password: env.passwords.ehpcRoot,
    RemoteVisEnable: true,
  }, post);
  const clusterId = created.ClusterId;
  assert.ok(clusterId);

  const set = await ehpc.request('ModifyVisualServicePasswd', {
    RegionId: env.region, ClusterId: clusterId, RunasUser: 'root',
    RunasUserPassword: env.passwords.ehpcRoot, Passwd: env.passwords.visual,
  }, post);
  assert.equal(set.Message, 'Service started.');
  env.record('visual', clusterId);

  assert.deepEqual(await failure(ehpc.request('ModifyVisualServicePasswd', {
    RegionId: env.region, ClusterId: clusterId, RunasUser: 'root',
    RunasUserPassword: 'Not-the-root-1', Passwd: 'Zyx987',
  }, post)), { code: 'IncorrectCredential', status: 403, message: 'The username or password is incorrect.' });
  assert.deepEqual(await failure(ehpc.request('ModifyVisualServicePasswd', {
    RegionId: env.region, ClusterId: 'ehpc-hz-nothere000', RunasUser: 'root',
    RunasUserPassword: env.passwords.ehpcRoot, Passwd: 'Zyx987',
  }, post)), { code: 'ClusterNotFound', status: 404, message: 'The specified instance does not exist.' });
});

test('STS 2015-04-01: GetCallerIdentity, over HTTP and HTTPS', async () => {
  for (const endpoint of [`http://${env.http}`, `https://${env.https}`]) {
    const res = await client('2015-04-01', endpoint).request('GetCallerIdentity', {}, post);
    assert.equal(res.IdentityType, 'Account');
    assert.match(res.AccountId, /^[0-9]{16}$/);
    assert.equal(res.UserId, res.AccountId);
    assert.equal(res.PrincipalId, res.AccountId);
    assert.equal(res.Arn, `acs:ram::${res.AccountId}:root`);
  }
});
