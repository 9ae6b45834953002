'use strict';

// @baiducloud/sdk, Baidu AI Cloud's JavaScript SDK: its BccClient, whose
// methods address BCC's instances under /v1, and BCC's /v2 API through
// the client's own signed sendRequest (bce-auth-v1).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { BccClient } = require('@baiducloud/sdk');
const env = require('../lib/env');

function client(endpoint) {
  return new BccClient({
    endpoint,
    credentials: { ak: env.accessKeyId, sk: env.accessKeySecret },
  });
}

// adminPass is BCC's password transport: hex of AES-128-ECB (PKCS#7) of
// the password, keyed by the first 16 characters of the secret key.
function adminPass(password) {
  const cipher = crypto.createCipheriv('aes-128-ecb', Buffer.from(env.accessKeySecret.slice(0, 16)), null);
  return Buffer.concat([cipher.update(password, 'utf8'), cipher.final()]).toString('hex');
}

// failure is what the SDK makes of an error answer: it keeps the code,
// message and request id of BCE's envelope only when the body has a
// requestId.
async function failure(call) {
  try {
    await call;
  } catch (err) {
    return err;
  }
  assert.fail('the call succeeded');
}

function assertBCEError(err, status, code, message) {
  assert.deepEqual({ status: err.status_code, code: err.code, message: err.message }, { status, code, message });
  assert.match(err.request_id, env.requestIdLower);
}

test('BccClient methods: /v1 is not a BCC API version', async () => {
  const bcc = client(`http://${env.http}`);
  const invalid = 'The API version specified was invalid.';
  assertBCEError(await failure(bcc.listInstances()), 404, 'InvalidVersion', invalid);
  assertBCEError(await failure(bcc.getInstance('i-abcdefgh')), 404, 'InvalidVersion', invalid);
  assertBCEError(await failure(bcc.startInstance('i-abcdefgh')), 404, 'InvalidVersion', invalid);
  // createInstance asks POST /v1/token/create for a client token first.
  assertBCEError(await failure(bcc.createInstance({ imageId: 'm-Z1TCx0Zv' })), 404, 'InvalidVersion', invalid);
});

test('BCC /v2 through sendRequest: create, list, detail, changePass', async (t) => {
  const bcc = client(`http://${env.http}`);
  const created = await bcc.sendRequest('POST', '/v2/instance', {
    params: { clientToken: 'node-create-1' },
    body: JSON.stringify({
      imageId: 'm-Z1TCx0Zv', cpuCount: 1, memoryCapacityInGB: 2, name: 'node-bcc',
      billing: { paymentTiming: 'Postpaid' },
    }),
  });
  const [id] = created.body.instanceIds;
  assert.match(id, /^i-[0-9A-Za-z]{8}$/);

  await t.test('ListInstances and GetInstanceDetail', async () => {
    const list = await bcc.sendRequest('GET', '/v2/instance', { params: { maxKeys: 1000 } });
    assert.ok(list.body.instances.some((i) => i.id === id));
    const detail = await bcc.sendRequest('GET', `/v2/instance/${id}`);
    assert.equal(detail.body.instance.name, 'node-bcc');
    assert.equal(detail.body.instance.status, 'Running');
    assert.match(detail.http_headers['x-bce-request-id'], env.requestIdLower);
  });

  await t.test('ChangeInstancePass', async () => {
    const changed = await bcc.sendRequest('PUT', `/v2/instance/${id}`, {
      params: { changePass: '' },
      body: JSON.stringify({ adminPass: adminPass(env.passwords.bcc) }),
    });
    assert.equal(typeof changed.body, 'object');
    env.record('bcc', id);

    const weak = await failure(bcc.sendRequest('PUT', `/v2/instance/${id}`, {
      params: { changePass: '' },
      body: JSON.stringify({ adminPass: adminPass('short') }),
    }));
    assert.deepEqual({ status: weak.status_code, code: weak.code }, { status: 400, code: 'BadRequest' });
    assertBCEError(await failure(bcc.sendRequest('PUT', '/v2/instance/i-nothere0', {
      params: { changePass: '' },
      body: JSON.stringify({ adminPass: adminPass(env.passwords.bcc) }),
    })), 404, 'NoSuchObject', 'The specified object is not found or resource do not exist.');
  });

  await t.test('over HTTPS', async () => {
    const list = await client(`https://${env.https}`).sendRequest('GET', '/v2/instance');
    assert.ok(list.body.instances.some((i) => i.id === id));
  });
});
