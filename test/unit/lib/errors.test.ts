import { describe, expect, it } from 'vitest';
import {
  CheckpointError, ConfigError, DockerApiError, DockerNotFoundError, DockerReadOnlyError, DockerStreamError,
  DockerUnreachableError, ERROR_CODES, KafkaError, RecordInvalidError, ShiplogError,
} from '../../../lib/errors.js';
import { StorageError } from '../../../collector/store/store.js';
import { BadParameter } from '../../../collector/query/filters.js';
import { TooLargeError } from '../../../agent/ship/transport.js';

describe('typed errors', () => {
  it('each class carries its code from the closed list, and its cause', () => {
    const cause = new Error('ECONNREFUSED');
    const cases: [ShiplogError, string][] = [
      [new ConfigError(['X: bad']), ERROR_CODES.CONFIG_INVALID],
      [new DockerUnreachableError('unix:///s', cause), ERROR_CODES.DOCKER_UNREACHABLE],
      [new DockerApiError(500, '/x', 'boom'), ERROR_CODES.DOCKER_API],
      [new DockerNotFoundError('/x', 'gone'), ERROR_CODES.DOCKER_NOT_FOUND],
      [new DockerReadOnlyError('POST', '/x'), ERROR_CODES.DOCKER_READ_ONLY],
      [new DockerStreamError('bad frame', cause), ERROR_CODES.DOCKER_STREAM],
      [new KafkaError('produce failed', cause), ERROR_CODES.KAFKA],
      [new CheckpointError('cannot write', cause), ERROR_CODES.CHECKPOINT],
      [new RecordInvalidError('not JSON'), ERROR_CODES.RECORD_INVALID],
      [new StorageError('insert failed', cause), ERROR_CODES.STORAGE],
      [new TooLargeError('record too large', { cause }), ERROR_CODES.RECORD_TOO_LARGE],
      [new BadParameter('limit', 'must be <= 10000'), ERROR_CODES.BAD_PARAMETER],
    ];
    for (const [err, code] of cases) {
      expect(err).toBeInstanceOf(ShiplogError);
      expect(err.code).toBe(code);
      expect(err.name).toBe(err.constructor.name);
    }
    expect(new KafkaError('produce failed', cause).cause).toBe(cause);
    expect(new Set(Object.values(ERROR_CODES)).size).toBe(cases.length);
  });
});
