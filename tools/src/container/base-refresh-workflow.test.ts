import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { toolStatus } from '../../../test/support/tools.ts';
import { REPO_ROOT } from './base-pins.ts';

const WORKFLOW = path.join(REPO_ROOT, '.github/workflows/base-refresh.yml');
const text = readFileSync(WORKFLOW, 'utf8');

interface Workflow {
  on: Record<string, unknown>;
  steps: Step[];
  container: { image: string };
}

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
}

/**
 * The workflow as a YAML parser reads it (PyYAML, not our code), or undefined where PyYAML is
 * not installed (tools/setup.sh does not need it); the text checks below run everywhere.
 */
function readWithPyYaml(): Workflow | undefined {
  const script = [
    'import json, sys, yaml',
    'd = yaml.safe_load(open(sys.argv[1]))',
    // YAML 1.1 reads the key `on` as true.
    'on = d.get("on", d.get(True))',
    'job = d["jobs"]["refresh"]',
    'print(json.dumps({"on": on, "steps": job["steps"], "container": job["container"]}))',
  ].join('\n');
  const result = toolStatus('python3', ['-c', script, WORKFLOW]);
  if (result.status !== 0 && result.stderr.includes("No module named 'yaml'")) return undefined;
  if (result.status !== 0) throw new Error(`PyYAML cannot read ${WORKFLOW}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

let parsed: Workflow | undefined | null = null;
const parsedByPyYaml = (): Workflow | undefined => (parsed === null ? (parsed = readWithPyYaml()) : parsed);

/** Five cron fields that fire once a week: fixed minute and hour, any day of month and month, one weekday. */
const WEEKLY_CRON = /^cron: '([0-5]?\d) ([01]?\d|2[0-3]) \* \* [0-6]'/;

describe('.github/workflows/base-refresh.yml', () => {
  it('runs weekly on a schedule and by hand', () => {
    const cron = /^\s*schedule:\n\s*- (cron: .*)$/m.exec(text)?.[1];
    expect(cron).toMatch(WEEKLY_CRON);
    expect(text).toMatch(/^\s*workflow_dispatch:/m);
    const workflow = parsedByPyYaml();
    if (workflow === undefined) return;
    expect(`cron: '${(workflow.on.schedule as { cron: string }[])[0]!.cron}'`).toMatch(WEEKLY_CRON);
    expect(workflow.on).toHaveProperty('workflow_dispatch');
    expect(workflow.container.image).toBe('debian:12');
  });

  it('refreshes with --report and opens the pull request with that file as body, only when a pin changed', () => {
    const report = /node bin\/icos\.mjs base refresh --report (\S+)/.exec(text)?.[1];
    expect(report).toBeDefined();
    expect(text).toContain(`gh pr create --head "$branch" --title "$(head -n 1 ${report})" --body-file ${report}`);
    expect(text).toContain('ICOS_SETUP_SKIP_BASES=1 bash tools/setup.sh');
    const workflow = parsedByPyYaml();
    if (workflow === undefined) return;
    const stepRunning = (command: string): Step => workflow.steps.find((step) => step.run?.includes(command))!;
    expect(stepRunning('base refresh --report').run).toContain('ICOS_REGISTRY=');
    expect(stepRunning('gh pr create').if).toBe("steps.pins.outputs.changed == 'true'");
    expect(stepRunning('ICOS_REGISTRY="$SHARED_REGISTRY" node bin/icos.mjs base import').if).toBe("steps.pins.outputs.changed == 'true'");
  });

  it('uses no secret but the registry credentials and GITHUB_TOKEN, and the registry from ICOS_REGISTRY', () => {
    const secrets = new Set([...text.matchAll(/secrets\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1]));
    expect([...secrets].sort()).toEqual(['GITHUB_TOKEN', 'REGISTRY_PASSWORD', 'REGISTRY_USER']);
    expect(text).toContain('SHARED_REGISTRY: ${{ vars.ICOS_REGISTRY }}');
    expect(text).toMatch(/docker login "\$SHARED_REGISTRY" --username "\$REGISTRY_USER" --password-stdin/);
    // icos base export/import (skopeo) find that login only through REGISTRY_AUTH_FILE.
    expect(text).toContain('echo "REGISTRY_AUTH_FILE=$HOME/.docker/config.json" >>"$GITHUB_ENV"');
    // The password reaches docker on stdin, never on a command line.
    expect(text).not.toMatch(/--password[ =]/);
  });
});
