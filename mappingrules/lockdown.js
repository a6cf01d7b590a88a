// chainsts rule lockdown: runs once per runtime after the prelude (and
// after Go has capped the built-ins that grow strings and arrays natively).
// It removes code generation and freezes every object reachable from the
// global object, the hidden intrinsics and the roots Go passes, so that no
// evaluation can change what the next one sees.
(function (N) {
	'use strict';
	var G = globalThis;
	var freeze = Object.freeze, getProto = Object.getPrototypeOf, defineProperty = Object.defineProperty;
	var ownKeys = Reflect.ownKeys, getDesc = Object.getOwnPropertyDescriptor;

	function noCodegen(name) {
		var f = function () { throw new EvalError(name + ' is not available in chainsts mapping rules'); };
		defineProperty(f, 'name', { value: name });
		return f;
	}
	var RealFunction = Function;
	var fnProtos = [
		RealFunction.prototype,
		getProto(function* () {}),
		getProto(async function () {})
	];
	fnProtos.forEach(function (p) {
		defineProperty(p, 'constructor', { value: noCodegen('Function'), writable: false, configurable: false });
	});
	var NoFunction = noCodegen('Function');
	defineProperty(NoFunction, 'prototype', { value: RealFunction.prototype });
	defineProperty(G, 'Function', { value: NoFunction, writable: false, configurable: false });
	defineProperty(G, 'eval', { value: noCodegen('eval'), writable: false, configurable: false });

	// Freezing a prototype makes an assignment to an inherited property
	// (obj.toString = ..., err.name = ...) fail silently. Turn the common
	// ones into accessors whose setter defines the property on the instance,
	// as it would have been on an unfrozen prototype.
	function tame(obj, k) {
		var d = getDesc(obj, k);
		if (!d || !('value' in d)) { return; }
		var v = d.value;
		defineProperty(obj, k, {
			get: function () { return v; },
			set: function (nv) {
				if (this === obj) { throw new TypeError('Cannot assign to read only property ' + String(k)); }
				defineProperty(this, k, { value: nv, writable: true, enumerable: true, configurable: true });
			},
			enumerable: d.enumerable, configurable: false
		});
	}
	['constructor', 'toString', 'valueOf', 'hasOwnProperty', 'toLocaleString', 'isPrototypeOf', 'propertyIsEnumerable'].forEach(function (k) {
		tame(Object.prototype, k);
	});
	[Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError].forEach(function (E) {
		['name', 'message', 'constructor', 'toString'].forEach(function (k) { tame(E.prototype, k); });
	});
	tame(Function.prototype, 'toString');

	delete G.__native;
	// Binary buffers serve no mapping rule and allocate natively in one call
	// (new ArrayBuffer(2e8)), past the caps on string and array growth.
	var typedArrayIntrinsic = getProto(Int8Array);
	['ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray',
		'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array',
		'BigInt64Array', 'BigUint64Array'].forEach(function (k) { delete G[k]; });
	// A runtime used for one evaluation only (fresh_runtimes) has nothing to
	// protect from the next one.
	if (!N.freeze) { return; }

	// Deep freeze from the global object and the intrinsics that no global
	// property reaches.
	var roots = [
		G,
		getProto(function* () {}),
		getProto(async function () {}),
		getProto((function* () {})()),
		getProto([][Symbol.iterator]()),
		getProto(''[Symbol.iterator]()),
		getProto(new Map()[Symbol.iterator]()),
		getProto(new Set()[Symbol.iterator]()),
		getProto(/a/[Symbol.matchAll]('a')),
		typedArrayIntrinsic,
		getDesc(function () { 'use strict'; return arguments; }(), 'callee').get,
		(function () { return arguments; })()
	];
	N.roots.forEach(function (o) { roots.push(o); });
	N.hidden.forEach(function (o) { roots.push(o); });
	var seen = new Set();
	var queue = [];
	function visit(o) {
		if (o === null || (typeof o !== 'object' && typeof o !== 'function') || seen.has(o)) { return; }
		seen.add(o);
		queue.push(o);
	}
	roots.forEach(visit);
	while (queue.length > 0) {
		var o = queue.pop();
		freeze(o);
		visit(getProto(o));
		var keys = ownKeys(o);
		for (var i = 0; i < keys.length; i++) {
			var d = getDesc(o, keys[i]);
			if (!d) { continue; }
			if ('value' in d) { visit(d.value); } else { visit(d.get); visit(d.set); }
		}
	}
})(__native);
