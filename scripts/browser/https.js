// An HTTPS site with two names on one port in headless Chromium, with the test CA
// trusted (an NSS database in $HOME, made by https.sh): each name loads without a
// certificate error, shows its own page, and was served its own certificate (SNI) by
// the test CA over TLS 1.3. A screenshot of each.
//
// node https.js PORT OUT
const { chromium } = require('playwright-core');
const path = require('path');

const [PORT, OUT] = process.argv.slice(2);

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--host-resolver-rules=MAP a.test 127.0.0.1, MAP b.test 127.0.0.1'],
  });
  try {
    // No ignoreHTTPSErrors: an untrusted certificate fails the navigation.
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    for (const name of ['a.test', 'b.test']) {
      const url = `https://${name}:${PORT}/`;
      const r = await page.goto(url);
      check(r.status() === 200, `GET ${url}: ${r.status()}`);
      const tls = await r.securityDetails();
      check(tls, `${url}: no TLS details`);
      check(tls.subjectName === name, `${url}: certificate for ${tls.subjectName}`);
      check(tls.issuer === 'webserv test CA', `${url}: issued by ${tls.issuer}`);
      check(tls.protocol === 'TLS 1.3', `${url}: ${tls.protocol}`);
      const h1 = await page.textContent('h1');
      check(h1.includes(name), `${url}: the page says ${h1}`);
      const file = path.join(OUT, `https-${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      console.log(`ok  ${url}: ${tls.protocol}, certificate ${tls.subjectName} from ${tls.issuer}; ${file}`);
    }
  } finally {
    await browser.close();
  }
})().catch(e => {
  console.error(e.message || e);
  process.exit(1);
});
