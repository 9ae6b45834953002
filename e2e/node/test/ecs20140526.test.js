'use strict';

// @alicloud/ecs20140526, the generated ECS client, configured with
// @alicloud/openapi-client's Config as Alibaba's samples do: signature V3
// with SHA-256 (the default) and with SM3, over HTTPS. The client trusts
// latchkey's CA through NODE_EXTRA_CA_CERTS and nothing else.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Config } = require('@alicloud/openapi-client');
const Ecs = require('@alicloud/ecs20140526');
const env = require('../lib/env');

const EcsClient = Ecs.default;

function client(signatureAlgorithm) {
  return new EcsClient(new Config({
    accessKeyId: env.accessKeyId,
    accessKeySecret: env.accessKeySecret,
    regionId: env.region,
    endpoint: env.https, // host:port; the protocol defaults to HTTPS
    signatureAlgorithm,
  }));
}

// failure is what the darabonba runtime makes of an error answer.
async function failure(call) {
  try {
    await call;
  } catch (err) {
    return { code: err.code, status: err.statusCode, message: err.data && err.data.Message };
  }
  assert.fail('the call succeeded');
}

for (const [name, algorithm] of [['sha256', 'ACS3-HMAC-SHA256'], ['sm3', 'ACS3-HMAC-SM3']]) {
  test(`ECS over HTTPS, signed ${algorithm}`, async () => {
    const ecs = client(algorithm);
    const run = await ecs.runInstances(new Ecs.RunInstancesRequest({
      regionId: env.region,
      imageId: 'aliyun_3_x64_20G_alibase_20240528.vhd',
      instanceType: 'ecs.g7.large',
      instanceName: `node-${name}`,
    }));
    const [id] = run.body.instanceIdSets.instanceIdSet;
    assert.ok(id);

    const described = await ecs.describeInstances(new Ecs.DescribeInstancesRequest({
      regionId: env.region, instanceIds: JSON.stringify([id]),
    }));
    assert.equal(described.statusCode, 200);
    assert.equal(described.body.totalCount, 1);
    const [instance] = described.body.instances.instance;
    assert.equal(instance.instanceId, id);
    assert.equal(instance.instanceName, `node-${name}`);
    assert.match(described.body.requestId, env.requestIdUpper);

    const modified = await ecs.modifyInstanceVncPasswd(new Ecs.ModifyInstanceVncPasswdRequest({
      regionId: env.region, instanceId: id, vncPassword: env.passwords[name],
    }));
    assert.equal(modified.statusCode, 200);
    env.record(name, id);

    assert.deepEqual(await failure(ecs.modifyInstanceVncPasswd(new Ecs.ModifyInstanceVncPasswdRequest({
      regionId: env.region, instanceId: id, vncPassword: 'abc',
    }))), {
      code: 'IncorrectVncPassword.Malformed', status: 400,
      message: 'The specified parameter VncPassword must be 6 characters, including uppercase characters, lowercase characters and numbers.',
    });
  });
}

test('a wrong secret is SignatureDoesNotMatch', async () => {
  const ecs = new EcsClient(new Config({
    accessKeyId: env.accessKeyId,
    accessKeySecret: 'not-the-secret',
    regionId: env.region,
    endpoint: env.https,
    signatureAlgorithm: 'ACS3-HMAC-SM3',
  }));
  const got = await failure(ecs.describeInstances(new Ecs.DescribeInstancesRequest({ regionId: env.region })));
  assert.equal(got.code, 'SignatureDoesNotMatch');
  assert.equal(got.status, 400);
});
