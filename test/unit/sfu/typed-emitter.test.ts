import { afterEach, expect, test } from 'vitest';
import { setListenerErrorReporter, TypedEmitter } from '../../../sfu/typed-emitter.js';

class Emitter extends TypedEmitter<{ ping: [number] }> {
  fire(n: number): void {
    this.emit('ping', n);
  }
}

afterEach(() => setListenerErrorReporter(() => undefined));

test('a listener that throws is reported, and the listeners after it still run', () => {
  const reported: string[] = [];
  setListenerErrorReporter((error, event) => reported.push(`${event}: ${(error as Error).message}`));
  const emitter = new Emitter();
  const heard: number[] = [];
  emitter.on('ping', () => {
    throw new Error('bug in a listener');
  });
  emitter.on('ping', (n) => heard.push(n));
  expect(() => emitter.fire(7)).not.toThrow();
  expect(heard).toEqual([7]);
  expect(reported).toEqual(['ping: bug in a listener']);
});

test('once listeners run once; a listener removed during an emit still runs in that emit only', () => {
  const emitter = new Emitter();
  const heard: string[] = [];
  emitter.once('ping', () => heard.push('once'));
  const second = () => heard.push('second');
  emitter.on('ping', () => emitter.off('ping', second));
  emitter.on('ping', second);
  emitter.fire(1);
  emitter.fire(2);
  expect(heard).toEqual(['once', 'second']);
  expect(emitter.listenerCount('ping')).toBe(1);
});

test('a reporter that throws does not break the emitter either', () => {
  setListenerErrorReporter(() => {
    throw new Error('reporter broke');
  });
  const emitter = new Emitter();
  emitter.on('ping', () => {
    throw new Error('x');
  });
  expect(() => emitter.fire(1)).not.toThrow();
});
