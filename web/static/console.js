// The console page's script. It reads the query Alibaba Cloud's ECS VNC
// page takes (vncUrl, instanceId), connects noVNC to the console WebSocket
// at once (the URL's ticket is single-use and expires 15 seconds after
// DescribeInstanceVncUrl issued it), asks for the VNC password when the
// console asks for it, and shows the screen.
//
// #status's data-state is the page's state, for people and tests alike:
//   idle            no vncUrl: the form to paste one is shown
//   connecting      the WebSocket and RFB handshake are under way
//   password        the console asked for the VNC password
//   authenticating  the password was sent
//   connected       logged in; the screen is rendered in #screen
//   disconnected    the console closed after a successful login
//   failed          the URL was refused, used or expired, the password
//                   was wrong, or the console went away before login
// The password is never stored, logged or put in a URL.

import RFB from './novnc/core/rfb.js';

const byId = (id) => document.getElementById(id);
const status = byId('status');
const passwordForm = byId('password-form');
const passwordInput = byId('password');
const ctrlAltDel = byId('ctrl-alt-del');

function setState(state, text) {
    status.dataset.state = state;
    status.textContent = text;
}

// consoleURL returns the WebSocket URL in raw, which is DescribeInstanceVncUrl's
// VncUrl as returned (percent-encoded) or decoded, or null when raw is not a
// ws: or wss: URL.
function consoleURL(raw) {
    let s = raw.trim();
    if (!s.includes('://')) {
        try {
            s = decodeURIComponent(s);
        } catch {
            return null;
        }
    }
    let u;
    try {
        u = new URL(s);
    } catch {
        return null;
    }
    return u.protocol === 'wss:' || u.protocol === 'ws:' ? u.href : null;
}

function showOpenForm(params) {
    byId('open-url').value = params.get('vncUrl') || '';
    byId('open-instance').value = params.get('instanceId') || '';
    byId('open-form').hidden = false;
}

function connect(url) {
    setState('connecting', 'Connecting…');
    let rfb;
    try {
        rfb = new RFB(byId('screen'), url, { wsProtocols: ['binary'], shared: true });
    } catch (e) {
        setState('failed', 'Cannot open the console: ' + e.message);
        return;
    }
    rfb.scaleViewport = true;

    let loggedIn = false;
    let refused = false;
    let desktop = '';

    rfb.addEventListener('credentialsrequired', (e) => {
        const types = e.detail.types;
        if (!types.every((t) => t === 'password')) {
            refused = true;
            setState('failed', 'The console asks for ' + types.join(', ') + '; this page sends a VNC password only.');
            rfb.disconnect();
            return;
        }
        passwordForm.hidden = false;
        passwordInput.focus();
        setState('password', 'Enter the VNC password');
    });
    passwordForm.addEventListener('submit', (e) => {
        e.preventDefault();
        const password = passwordInput.value;
        passwordInput.value = '';
        passwordForm.hidden = true;
        setState('authenticating', 'Logging in…');
        rfb.sendCredentials({ password });
    });
    rfb.addEventListener('securityfailure', (e) => {
        refused = true;
        const reason = e.detail.reason || 'the password was not accepted';
        setState('failed', 'Login refused: ' + reason + '. Get a new VncUrl to try again.');
    });
    rfb.addEventListener('desktopname', (e) => {
        desktop = e.detail.name;
    });
    rfb.addEventListener('connect', () => {
        loggedIn = true;
        passwordForm.hidden = true;
        ctrlAltDel.hidden = false;
        setState('connected', desktop ? 'Connected to ' + desktop : 'Connected');
        rfb.focus();
    });
    rfb.addEventListener('disconnect', (e) => {
        passwordForm.hidden = true;
        ctrlAltDel.hidden = true;
        if (loggedIn) {
            setState('disconnected', e.detail.clean ? 'Disconnected' : 'Connection lost');
        } else if (!refused) {
            const waited = status.dataset.state === 'password';
            setState('failed', waited
                ? 'The console stopped waiting for the password. Get a new VncUrl to try again.'
                : 'Could not open the console: the VncUrl is used, expired (it works once, within 15 seconds) or unreachable.');
        }
    });
    ctrlAltDel.addEventListener('click', () => rfb.sendCtrlAltDel());
}

const params = new URLSearchParams(location.search);
const instanceId = params.get('instanceId') || '';
byId('instance').textContent = instanceId;
if (instanceId) {
    document.title = instanceId + ' – Console';
}
const raw = params.get('vncUrl');
if (!raw) {
    setState('idle', 'No console URL');
    showOpenForm(params);
} else {
    const url = consoleURL(raw);
    if (url === null) {
        setState('failed', 'vncUrl is not a ws:// or wss:// URL');
        showOpenForm(params);
    } else {
        connect(url);
    }
}
