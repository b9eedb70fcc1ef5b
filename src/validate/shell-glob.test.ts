import assert from "node:assert/strict";
import { test } from "node:test";
import { shellGlobRegExp } from "./shell-glob.js";

const cases: [pattern: string, path: string, matches: boolean][] = [
  ["/var/log/tsosi/*.log", "/var/log/tsosi/django.log", true],
  ["/var/log/tsosi/*.log", "/var/log/tsosi/.hidden.log", false],
  ["/var/log/tsosi/.*.log", "/var/log/tsosi/.hidden.log", true],
  ["/var/log/tsosi/?hidden.log", "/var/log/tsosi/.hidden.log", false],
  ["/var/log/tsosi/*.log", "/var/log/tsosi/celery/worker.log", false],
  ["/var/log/tsosi/*.log", "/var/log/tsosi/django.logx", false],
  ["/var/log/tsosi/*.log", "/var/log/tsosiXdjango.log", false],
  ["/var/log/*/*.log", "/var/log/tsosi/django.log", true],
  ["/var/log/tsosi/celery_?.log", "/var/log/tsosi/celery_1.log", true],
  ["/var/log/tsosi/celery_?.log", "/var/log/tsosi/celery_12.log", false],
  ["/var/log/tsosi/celery_[0-9].log", "/var/log/tsosi/celery_7.log", true],
  ["/var/log/tsosi/celery_[!0-9].log", "/var/log/tsosi/celery_7.log", false],
  ["/var/log/tsosi/celery_[!0-9].log", "/var/log/tsosi/celery_a.log", true],
  ["/var/log/tsosi/celery_[]].log", "/var/log/tsosi/celery_].log", true],
  ["/var/log/tsosi/a[b.log", "/var/log/tsosi/a[b.log", true],
  ["/var/log/tsosi/{a,b}.log", "/var/log/tsosi/a.log", false],
  ["/var/log/tsosi/{a,b}.log", "/var/log/tsosi/{a,b}.log", true],
  ["/var/log/tsosi/(x|y)+.log", "/var/log/tsosi/(x|y)+.log", true],
  ["/var/log/tsosi/(x|y)+.log", "/var/log/tsosi/x.log", false],
];

test("logrotate patterns match as glob(3) does: * and ? within one segment and not over a leading dot, brackets, nothing else special", () => {
  for (const [pattern, path, matches] of cases) assert.equal(shellGlobRegExp(pattern).test(path), matches, `${pattern} vs ${path}`);
});
