'use strict';

// The latchkey under test and what the suite reports back, from the
// environment e2e/node_test.go sets. Clients are configured as a user
// would configure them: only the endpoint differs from the real cloud,
// and HTTPS trusts latchkey's CA through NODE_EXTRA_CA_CERTS.

const fs = require('node:fs');
const path = require('node:path');

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run this suite through go test (e2e/node_test.go)`);
  }
  return value;
}

// record tells the Go side which resource a named password was set on, so
// that it checks the password took effect there. Each name is a file of
// its own: node --test runs every test file in a process of its own.
function record(name, resourceId) {
  fs.writeFileSync(path.join(required('LATCHKEY_RESULTS'), name), resourceId);
}

module.exports = {
  region: 'cn-hangzhou',
  http: required('LATCHKEY_HTTP'), // host:port of the plain-HTTP listener
  https: required('LATCHKEY_HTTPS'), // host:port of the HTTPS listener
  accessKeyId: required('LATCHKEY_ACCESS_KEY_ID'),
  accessKeySecret: required('LATCHKEY_ACCESS_KEY_SECRET'),
  // The passwords to set, by name; never printed.
  passwords: JSON.parse(required('LATCHKEY_TEST_PASSWORDS')),
  record,
  requestIdUpper: /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/,
  requestIdLower: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
};
