import type { BadInputCase, BadInputTable } from '../case.ts';
import { usageCases } from './common.ts';

const GOOD = ['--mgmt-mac', '70:b5:e8:e8:25:de', '--deployment', 'mainnet', '--node-type', 'hostos', '--ip-version', '6'];
function mac(name: string, flag: string, value: string, message: RegExp, status: 1 | 2 = 1): BadInputCase {
  return { name, args: ['mac', ...GOOD.map((a, i) => (GOOD[i - 1] === flag ? value : a))], status, message };
}

export const macTable: BadInputTable = {
  command: 'mac',
  cases: [
    ...usageCases('mac', GOOD, '--mgmt-mac'),
    mac('five pairs', '--mgmt-mac', '70:b5:e8:e8:25', /--mgmt-mac "70:b5:e8:e8:25"/),
    mac('seven pairs', '--mgmt-mac', '70:b5:e8:e8:25:de:01', /--mgmt-mac "70:b5:e8:e8:25:de:01"/),
    mac('a non-hex digit', '--mgmt-mac', '70:b5:e8:e8:25:dz', /--mgmt-mac "70:b5:e8:e8:25:dz"/),
    mac('mixed separators', '--mgmt-mac', '70:b5-e8:e8:25:de', /--mgmt-mac "70:b5-e8:e8:25:de"/),
    mac('no separators', '--mgmt-mac', '70b5e8e825de', /--mgmt-mac "70b5e8e825de"/),
    mac('an empty MAC', '--mgmt-mac', '', /--mgmt-mac/),
    mac('a MAC with a control byte', '--mgmt-mac', '70:b5:e8:e8:25:d\x1b', /--mgmt-mac/),
    mac('a blank deployment', '--deployment', ' ', /--deployment " "/),
    mac('a deployment with a space', '--deployment', 'main net', /--deployment "main net"/),
    mac('an empty deployment', '--deployment', '', /--deployment/),
    mac('an unknown node type', '--node-type', 'replica', /node-type[\s\S]*replica/, 2),
    mac('IP version 5', '--ip-version', '5', /ip-version[\s\S]*5/, 2),
    mac('IP version not a number', '--ip-version', 'six', /ip-version/, 2),
  ],
};
