import { definePlugin } from '@kiln/core';

export default definePlugin({
  name: '@kiln/plugin-backend-native',
  version: '0.1.0',
  kiln: '^0.1.0',
  register() {
    // populated by the package's implementation
  },
});
