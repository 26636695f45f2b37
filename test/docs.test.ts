/**
 * The documentation as a user meets it: README a short guide, the depth in docs/, the pages made
 * from the code's tables up to date (`npm run docs`), every link to a page or a heading of one
 * leading somewhere, every long page with its contents.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SETTINGS, type Setting } from '../lambda/core/settings';
import { historySqlFile, referencePage } from '../scripts/docs';

const ROOT = path.join(__dirname, '..');
const read = (page: string): string => readFileSync(path.join(ROOT, page), 'utf8');
const PAGES = ['README.md', 'CHANGELOG.md', ...readdirSync(path.join(ROOT, 'docs')).filter((page) => page.endsWith('.md')).map((page) => `docs/${page}`)];

/** GitHub's anchor of a heading. */
const anchor = (heading: string): string => heading.trim().toLowerCase().replace(/[^a-z0-9 _-]/g, '').replace(/ /g, '-');
const anchors = (page: string): Set<string> => new Set([...read(page).matchAll(/^#{1,4} (.+)$/gm)].map((match) => anchor(match[1]!)));

describe('the pages made from the code', () => {
  it('docs/reference.md is what `npm run docs` makes from the settings table and the CLI', () => {
    expect(read('docs/reference.md')).toBe(referencePage());
  });

  it('docs/esim-history.sql is what `npm run docs` makes from lib/history.ts', () => {
    expect(read('docs/esim-history.sql')).toBe(historySqlFile());
  });

  it('the reference names every setting in every place it can be given', () => {
    const page = read('docs/reference.md');
    const names = Object.values(SETTINGS as Record<string, Setting<unknown>>).flatMap((setting) => Object.values(setting.names));
    expect(names.filter((name) => !page.includes(`\`${name}`))).toEqual([]);
  });
});

describe('README and docs/', () => {
  it('README is a guide of at most 300 lines', () => {
    expect(read('README.md').split('\n').length).toBeLessThanOrEqual(300);
  });

  it.each(PAGES)('%s: every link to a page, or to a heading of one, leads somewhere', (page) => {
    const broken: string[] = [];
    for (const [, target] of read(page).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue; // a web address
      const [file, hash] = target!.split('#');
      const linked = file ? path.posix.normalize(path.posix.join(path.posix.dirname(page), file)) : page;
      if (!existsSync(path.join(ROOT, linked))) broken.push(target!);
      else if (hash && linked.endsWith('.md') && !anchors(linked).has(hash)) broken.push(target!);
    }
    expect(broken).toEqual([]);
  });

  it.each(PAGES.filter((page) => page.startsWith('docs/')))('%s: a long page lists its contents', (page) => {
    const text = read(page);
    if (text.split('\n').length > 100) expect(text).toContain('Contents:');
  });
});
