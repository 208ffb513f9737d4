/** Flags and SHIPLOG_* variables no part of shiplog reads are refused, with the closest known name. */
import { describe, expect, it } from 'vitest';
import { closestName, flagsToEnv, unknownVariable } from '../../../cli/settings.js';


describe('settings from flags and the environment', () => {
  it('maps known flags onto variables', () => {
    expect(flagsToEnv('up', ['--http-port', '31893', '--docker-host=unix:///x.sock'], {})).toEqual({ SHIPLOG_HTTP_PORT: '31893', DOCKER_HOST: 'unix:///x.sock' });
  });

  it('refuses a misspelt flag and names the one meant', () => {
    expect(flagsToEnv('up', ['--htp-port', '31893'], {})).toBe('unknown option --htp-port (did you mean --http-port?)');
    expect(flagsToEnv('agent', ['--zzz', '1'], {})).toBe('unknown option --zzz');
    expect(flagsToEnv('up', ['--http-port'], {})).toBe('option --http-port needs a value');
    expect(flagsToEnv('up', ['31893'], {})).toContain('unexpected argument');
  });

  it('refuses an unknown SHIPLOG_ variable, leaves other variables alone', () => {
    expect(unknownVariable({ SHIPLOG_HTTP_PROT: '1' })).toContain('SHIPLOG_HTTP_PROT is not a shiplog setting (did you mean SHIPLOG_HTTP_PORT?)');
    expect(unknownVariable({ SHIPLOG_HTTP_PORT: '1', SHIPLOG_URL: 'x', SHIPLOG_TEST_IMAGE: 'x', PATH: '/bin', SHIPLOGX: '1' })).toBeUndefined();
    expect(closestName('SHIPLOG_ENTIRELY_DIFFERENT_THING')).toBeUndefined();
  });
});
