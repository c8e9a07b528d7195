// The built-in pages and the demo site in headless Chromium, at a desktop and a phone
// width: a screenshot of every page, a check from inside each page that nothing runs
// off the screen sideways, and the upload page's round trip (upload, listing, receipt,
// sizes, DELETE with its confirmation).
//
// node e2e.js MAIN_URL DOCS_URL OUT
//   MAIN_URL: the demo site's main server (site.conf's 8080), DOCS_URL: its second
//   server (8081), OUT: the screenshot directory. Exits 1 on the first failed check.
const { chromium } = require('playwright-core');
const fs = require('fs');
const path = require('path');

const [MAIN, DOCS, OUT] = process.argv.slice(2);
const WIDTHS = [1280, 390];
const port = new URL(MAIN).port;
let shots = 0;

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
}

// Runs in the page: the document is no wider than the viewport, and no element's
// right edge is past it unless an ancestor that scrolls or clips holds it in.
function overflow() {
  const w = window.innerWidth;
  const clipped = e => {
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if (o !== 'visible' && a.getBoundingClientRect().right <= w + 0.5) return true;
    }
    return false;
  };
  const bad = [];
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 0.5 && !clipped(e)) {
      bad.push(`<${e.tagName.toLowerCase()}${e.className ? ' class=' + e.className : ''}> right edge ${Math.round(r.right)} px: ${(e.textContent || '').trim().slice(0, 40)}`);
    }
  }
  return { w, scroll: document.documentElement.scrollWidth, bad };
}

// Screenshots the page as it is and checks it for horizontal overflow.
async function shoot(page, name) {
  const width = page.viewportSize().width;
  const file = path.join(OUT, `${name}-${width}.png`);
  await page.screenshot({ path: file, fullPage: true });
  shots++;
  const o = await page.evaluate(overflow);
  check(o.scroll <= o.w, `${name} at ${width} px: the document is ${o.scroll} px wide`);
  check(o.bad.length === 0, `${name} at ${width} px: past the right edge:\n  ${o.bad.join('\n  ')}`);
  console.log(`ok  ${file}`);
}

// Loads `url` and expects `status`; returns the response.
async function visit(page, url, status) {
  const r = await page.goto(url);
  check(r.status() === status, `GET ${url}: ${r.status()}, expected ${status}`);
  return r;
}

// Submits the form that holds `button` (a real browser navigation) and expects `status`.
async function submit(page, button, status) {
  const [r] = await Promise.all([page.waitForNavigation(), page.click(button)]);
  check(r.status() === status, `${button}: ${r.status()}, expected ${status}`);
  return r;
}

async function text(page, sel) {
  return (await page.textContent(sel)).trim();
}

// Every page, at one width.
async function pages(browser, width, upload) {
  const ctx = await browser.newContext({ viewport: { width, height: 800 } });
  const page = await ctx.newPage();

  // The control: the overflow check does see a page that is too wide.
  await page.setContent(`<p>fits</p><div style="width:${width + 50}px">too wide</div>`);
  const wide = await page.evaluate(overflow);
  check(wide.scroll > wide.w && wide.bad.length === 1, 'the overflow check misses a too-wide page');

  // The demo site.
  await visit(page, MAIN + '/', 200);
  await shoot(page, 'demo-home');
  await visit(page, MAIN + '/cgi-bin/counter.py', 200);
  check((await text(page, 'h1')) === 'You have visited this page once', 'counter.py heading');
  await shoot(page, 'demo-cgi-counter');
  await visit(page, MAIN + '/cgi-bin/hello.sh?name=%3Cb%3Eworld', 200);
  check((await text(page, 'p code:nth-of-type(2)')) === 'name=%3Cb%3Eworld', 'hello.sh shows the query as text');
  await shoot(page, 'demo-cgi-hello');
  await visit(page, MAIN + '/cgi-bin/env.cgi', 200);
  check((await text(page, 'h1')) === 'The CGI environment', 'env.cgi as a page');
  await shoot(page, 'demo-cgi-env');
  await visit(page, MAIN + '/cgi-bin/files.py', 200);
  await shoot(page, 'demo-cgi-files-json');
  await visit(page, MAIN + '/nowhere', 404);
  check((await text(page, 'h1')) === '404 Not Found', 'the custom 404 page');
  await shoot(page, 'demo-custom-404');
  await visit(page, `http://site2.test:${port}/`, 200);
  check((await text(page, 'h1')) === 'site2', 'the name-based virtual host');
  await shoot(page, 'demo-site2');

  // The built-in pages.
  await visit(page, MAIN + '/files/', 200);
  check(await page.isVisible('a[href="%3Cb%3E%26amp%3B.txt"]'), 'the listing links the hostile name, encoded');
  await shoot(page, 'builtin-listing');
  await visit(page, MAIN + '/files/empty/', 200);
  check((await text(page, 'td.empty')) === 'This directory is empty.', 'the empty listing says so');
  await shoot(page, 'builtin-listing-empty');
  await visit(page, DOCS + '/', 200);
  await shoot(page, 'builtin-listing-docs-root');
  await visit(page, DOCS + '/nowhere', 404);
  check((await text(page, 'h1')) === '404 Not Found', 'the built-in 404');
  await shoot(page, 'builtin-404');
  await visit(page, MAIN + '/dir/', 403);
  check((await text(page, 'h1')) === '403 Forbidden', 'the built-in 403');
  await shoot(page, 'builtin-403');
  await visit(page, MAIN + '/', 200);
  await submit(page, 'form[action="/plain.txt"] button', 405);
  check((await text(page, 'h1')) === '405 Method Not Allowed', 'the built-in 405');
  check((await text(page, 'p')).includes('Allowed here: GET, HEAD.'), 'the 405 page lists the allowed methods');
  await shoot(page, 'builtin-405');
  await visit(page, MAIN + '/', 200);
  await submit(page, 'form[action="/limited/"] button', 413);
  check((await text(page, 'h1')).startsWith('413 '), 'the built-in 413');
  await shoot(page, 'builtin-413');
  // A redirect's body is what a client that does not follow it sees: render it as is.
  const r = await page.request.get(MAIN + '/old-home', { maxRedirects: 0 });
  check(r.status() === 301 && r.headers()['location'] === '/', '/old-home is a 301 to /');
  await page.goto(MAIN + '/');
  await page.setContent(await r.text());
  check((await text(page, 'h1')) === '301 Moved Permanently', 'the redirect body');
  await shoot(page, 'builtin-redirect-301');
  await ctx.close();

  // The upload receipt: the form posted by the browser itself, without the page's script.
  const plain = await browser.newContext({ viewport: { width, height: 800 }, javaScriptEnabled: false });
  const p2 = await plain.newPage();
  await visit(p2, MAIN + '/upload.html', 200);
  await p2.setInputFiles('input[type=file]', upload);
  await submit(p2, 'button[type=submit]', 201);
  const receipt = await text(p2, 'li');
  check(receipt === `Uploaded ${path.basename(upload)} (2.0 KiB)`, 'the receipt: ' + receipt);
  await shoot(p2, 'builtin-upload-receipt');
  const stored = await p2.getAttribute('li a', 'href');
  check((await p2.request.delete(MAIN + stored)).status() === 204, 'the receipt upload deleted');
  await plain.close();
}

// The upload page: upload a file, see it listed with the server's size format, refuse to
// delete it when the confirmation is dismissed, delete it when accepted.
async function uploadPage(browser, width, upload) {
  const name = path.basename(upload);
  const ctx = await browser.newContext({ viewport: { width, height: 800 } });
  const page = await ctx.newPage();
  await visit(page, MAIN + '/upload.html', 200);
  check((await text(page, '#limit')) === '64.0 MiB', 'the page shows the size limit');
  await page.setInputFiles('input[type=file]', upload);
  await page.click('button[type=submit]');
  const row = `#files tr:has(a:text-is("${name}"))`;
  await page.waitForSelector(row);
  check((await text(page, '#status')) === `Uploaded ${name} (2.0 KiB)`, 'status after upload: ' + await text(page, '#status'));
  check((await text(page, `${row} td.s`)) === '2.0 KiB', 'the size in the table');
  await shoot(page, 'demo-upload-page');

  // The store's own listing says the same size.
  const listing = await ctx.newPage();
  await visit(listing, MAIN + '/uploads/', 200);
  check((await text(listing, `tr:has(a:text-is("${name}")) td.s`)) === '2.0 KiB', 'the size in /uploads/');
  await shoot(listing, 'builtin-listing-uploads');
  await listing.close();

  const href = await page.getAttribute(`${row} a`, 'href');
  check((await (await page.request.get(MAIN + href)).body()).equals(fs.readFileSync(upload)), 'the stored file');

  const asked = [];
  page.once('dialog', d => { asked.push(d.message()); d.dismiss(); });
  await page.click(`${row} button`);
  await page.waitForTimeout(0);
  check(asked[0] === `Delete ${name}? This cannot be undone.`, 'DELETE asks first: ' + asked[0]);
  check((await page.request.get(MAIN + href)).status() === 200, 'a dismissed confirmation deletes nothing');

  page.once('dialog', d => { asked.push(d.message()); d.accept(); });
  await page.click(`${row} button`);
  await page.waitForSelector(row, { state: 'detached' });
  check((await text(page, '#status')) === `Deleted ${name}.`, 'status after delete');
  check((await page.request.get(MAIN + href)).status() === 404, 'the file is gone');
  await ctx.close();
}

(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'webserv-browser-'));
  const upload = path.join(dir, 'browser-test.txt');
  fs.writeFileSync(upload, 'x'.repeat(2047) + '\n');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--host-resolver-rules=MAP site2.test 127.0.0.1'],
  });
  try {
    for (const width of WIDTHS) {
      await pages(browser, width, upload);
      await uploadPage(browser, width, upload);
    }
  } finally {
    await browser.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`${shots} screenshots in ${OUT}, none overflowing at ${WIDTHS.join(' or ')} px`);
})().catch(e => { console.error(e.message || e); process.exit(1); });
